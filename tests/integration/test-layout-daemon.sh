#!/bin/sh
# vfiomapctl layout without --root asks vfiomapd (Manager.RenderLayout), as claim and apply do, so the
# three agree on one host model; --root stays offline; without a daemon the client says so and reads /.
# The daemon serves a sample host on a private bus: what the client prints must be that host's layout,
# byte for byte what --root on the same tree prints, and not this machine's.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/lib-bus.sh"

need "$DBUS_DAEMON" "$BUSCTL" jq
host="$top_srcdir/tests/hosts/amd-server"
other="$top_srcdir/tests/hosts/intel-client"
spec="$top_srcdir/tests/layout/cli/amd-gpu-big.xml"
start_bus

# ---- no vfiomapd on the bus: the client reads / itself and says so ----
# / is made the sample host in a mount namespace of the test's own (sys, and the /proc files the model
# reads bound over this machine's), so the fallback's answer is known and the real /sys is never read.
if unshare --mount true 2>/dev/null; then
        unshare --mount --propagation private sh -c '
                mount --bind "$1/sys" /sys || exit 99
                for f in cpuinfo iomem sys/kernel/osrelease; do
                        [ -e "$1/proc/$f" ] && { mount --bind "$1/proc/$f" "/proc/$f" || exit 99; }
                done
                exec "$2" layout "$3" >"$4/fallback.out" 2>"$4/fallback.err"' \
                - "$host" "$VFIOMAPCTL" "$spec" "$tmp"
        r=$?
        "$VFIOMAPCTL" --root "$host" layout "$spec" >"$tmp/offline.out" 2>/dev/null
        is "$r" "$?" "no vfiomapd: the exit status of the layout of / (here the sample host)"
        ok "no vfiomapd: the client says it reads / itself" \
                grep -q "vfiomapd is not running: reading the host model from / directly" "$tmp/fallback.err"
        ok "no vfiomapd: the layout of /, as --root / would compute it" cmp -s "$tmp/offline.out" "$tmp/fallback.out"
else
        echo "# no mount namespace here: the fallback is checked by its message only"
        "$VFIOMAPCTL" layout "$spec" >/dev/null 2>"$tmp/fallback.err"
        ok "no vfiomapd: the client says it reads / itself" \
                grep -q "vfiomapd is not running: reading the host model from / directly" "$tmp/fallback.err"
fi

# ---- vfiomapd serves the sample host ----
ok "vfiomapd serves $host" start_daemon --root="$host" --no-libvirt
"$VFIOMAPCTL" --root "$host" layout "$spec" >"$tmp/offline.out" 2>/dev/null
r_offline=$?
"$VFIOMAPCTL" layout "$spec" >"$tmp/daemon.out" 2>"$tmp/daemon.err"
r_daemon=$?
is "$r_daemon" "$r_offline" "layout: the exit status of the daemon's host ($r_offline)"
ok "layout: the report of the daemon's host, byte for byte" cmp -s "$tmp/offline.out" "$tmp/daemon.out"
[ -s "$tmp/daemon.out" ] && ! cmp -s "$tmp/offline.out" "$tmp/daemon.out" && diff "$tmp/offline.out" "$tmp/daemon.out" | head -n 10 | sed 's/^/#   /'
ok "layout: nothing on standard error" [ ! -s "$tmp/daemon.err" ]
for mode in pretty short; do
        "$VFIOMAPCTL" --root "$host" layout "$spec" --json=$mode >"$tmp/offline.json" 2>/dev/null
        "$VFIOMAPCTL" layout "$spec" --json=$mode >"$tmp/daemon.json" 2>/dev/null
        ok "layout --json=$mode: the daemon's document, formatted alike" cmp -s "$tmp/offline.json" "$tmp/daemon.json"
done
"$VFIOMAPCTL" --root "$host" layout "$spec" --svg="$tmp/offline.svg" >/dev/null 2>&1
"$VFIOMAPCTL" layout "$spec" --svg="$tmp/daemon.svg" >"$tmp/daemon-svg.out" 2>/dev/null
ok "layout --svg: the daemon's picture" cmp -s "$tmp/offline.svg" "$tmp/daemon.svg"
ok "layout --svg: and the report besides" cmp -s "$tmp/offline.out" "$tmp/daemon-svg.out"
"$VFIOMAPCTL" layout "$spec" --svg=- >"$tmp/daemon-stdout.svg" 2>/dev/null
ok "layout --svg=-: only the picture on standard output" cmp -s "$tmp/offline.svg" "$tmp/daemon-stdout.svg"
"$VFIOMAPCTL" layout - <"$spec" >"$tmp/daemon-stdin.out" 2>/dev/null
ok "layout -: standard input goes to the daemon too" cmp -s "$tmp/offline.out" "$tmp/daemon-stdin.out"

# The same answer as the daemon's own ComputeLayout, which claim and apply use.
is "$(vcall_json ComputeLayout s "$(cat "$spec")" | jq -S -c .)" \
        "$("$VFIOMAPCTL" layout "$spec" --json=short | jq -S -c .)" "layout --json equals ComputeLayout"
out=$("$BUSCTL" call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager RenderLayout st "$(cat "$spec")" 2 2>&1)
case $out in *"Unknown flags 0x2"*) r=0 ;; *) r=1 ;; esac
ok "RenderLayout: unknown flags are InvalidArgs" [ $r -eq 0 ]
is "$("$BUSCTL" --json=short call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager RenderLayout st "$(cat "$spec")" 0 |
        jq -r '.data[2]')" "" "RenderLayout: no SVG without flag 1"
echo '{"machine": 1}' >"$tmp/bad.json"
"$VFIOMAPCTL" --root "$host" layout "$tmp/bad.json" >/dev/null 2>"$tmp/bad-offline.err"
r_offline=$?
"$VFIOMAPCTL" layout "$tmp/bad.json" >/dev/null 2>"$tmp/bad-daemon.err"
is "$?" "$r_offline" "a bad spec: the same exit status"
ok "a bad spec: the same message" cmp -s "$tmp/bad-offline.err" "$tmp/bad-daemon.err"

# ---- --root stays offline: another tree, and no bus at all ----
"$VFIOMAPCTL" --root "$other" layout "$spec" >"$tmp/other-bus.out" 2>&1
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$tmp/no-such-socket "$VFIOMAPCTL" --root "$other" layout "$spec" \
        >"$tmp/other-nobus.out" 2>&1
ok "--root: the tree's layout, not the daemon's" sh -c "! cmp -s '$tmp/other-bus.out' '$tmp/daemon.out'"
ok "--root: the same without any bus" cmp -s "$tmp/other-bus.out" "$tmp/other-nobus.out"

done_testing
