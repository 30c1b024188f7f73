#!/bin/sh
# Hostile bus clients against vfiomapd (--root, private bus): test-hostile-bus calls every method with wrong
# types and hostile values, as root and as an unprivileged user, and thousands of claims; the daemon must
# answer every call with a named error or a return, stay up, and keep its state. Then the limits: a claims
# file at CLAIMS_MACHINES_MAX loads, one more claim is LimitsExceeded, and the daemon still restarts.
#
#   HOSTILE_CLAIMS=N   valid (device-less) claims and releases besides the 2000 refused ones (default 300)
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/lib-bus.sh"

need "$DBUS_DAEMON" "$BUSCTL" jq setpriv
make_host "$tmp/host"
start_bus
ok "vfiomapd starts" start_daemon --root="$tmp/host"
gpu=$(spec_json win11 0000:01:00.0 0000:01:00.1)
ok "win11 claims group 1" sh -c "'$BUSCTL' call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Claim ss win11 '$gpu' >/dev/null"

# The driver's own TAP lines are indented as a subtest would be; one line here sums each run up.
run_driver() {
        _what=$1
        shift
        "$@" "$top_builddir/tests/integration/test-hostile-bus" "$daemon_pid" "$tmp/run/claims.json" $driver_args \
                >"$tmp/driver-$_what.tap" 2>"$tmp/driver-$_what.err"
        _r=$?
        grep '^# figure' "$tmp/driver-$_what.tap" | sed "s/^# figure:/# figure ($_what):/"
        grep '^not ok' -A2 "$tmp/driver-$_what.tap" | sed 's/^/#   /'
        [ $_r -eq 0 ] || tail -n 40 "$tmp/driver-$_what.err" | sed 's/^/#   /'
        return $_r
}
driver_args=
ok "as root: every hostile call answered, daemon up, state unchanged" \
        run_driver root env
driver_args=--as-user
ok "as nobody: the same, and every mutating call AccessDenied" \
        run_driver nobody setpriv --reuid=65534 --regid=65534 --clear-groups \
        env DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS"
ok "vfiomapd is still running" kill -0 "$daemon_pid"
ok "no temporary file is left behind" sh -c "! ls -A '$tmp/run' | grep -q '^\.#'"

# ---- limits ----
stop_daemon
# 4095 device-less machines beside win11: CLAIMS_MACHINES_MAX (libvfiomap/claims.h) in all.
jq --argjson n 4095 '.machines += [range($n) | {machine: "vm-\(.)", claimed_at: 1, groups: [], devices: [],
        spec: "", layout: ""}]' "$tmp/run/claims.json" >"$tmp/run/claims.json.new"
mv "$tmp/run/claims.json.new" "$tmp/run/claims.json"
ok "a claims file with 4096 machines loads" start_daemon --root="$tmp/host"
is "$(vprop /org/vfiomap1 org.vfiomap1.Manager NMachines)" "u 4096" "NMachines is 4096"
out=$(vcall Claim ss one-more '{"name": "one-more", "machine": "pc-q35-8.2", "memory": "1G"}' 2>&1)
case $out in *"holds 4096 claims, its limit"*) r=0 ;; *) r=1 ;; esac
ok "claim number 4097 is refused (LimitsExceeded)" [ $r -eq 0 ]
[ $r -eq 0 ] || echo "# $out"
ok "a new claim of an existing machine still works" sh -c \
        "'$BUSCTL' call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Claim ss vm-7 '{\"name\": \"vm-7\", \"machine\": \"pc-q35-8.2\", \"memory\": \"2G\"}' >/dev/null"
stop_daemon
ok "and the daemon restarts on that file" start_daemon --root="$tmp/host"
is "$(vprop /org/vfiomap1 org.vfiomap1.Manager NMachines)" "u 4096" "with all 4096 claims"

done_testing
