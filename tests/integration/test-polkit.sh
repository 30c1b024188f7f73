#!/bin/sh
# Authorization through a real polkitd on the private bus. vfiomapd asks polkit (CheckAuthorization of
# org.vfiomap1.manage for the caller's bus name) whenever a caller other than root changes something; this
# runs the distribution's polkitd, with the project's action file and a rule that grants the action to
# "nobody" only. Checked: a user without the grant is denied, the granted user may claim and release, root
# never needs polkit (and is allowed with polkitd gone), and a user is denied when polkit cannot be asked.
#
# polkitd reads actions only from /usr/share/polkit-1/actions and rules only from /etc/polkit-1/rules.d and
# /usr/share/polkit-1/rules.d (no option or variable moves them), so the two files are installed there
# under names of their own for the duration of the test and removed on exit, whatever happens.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/lib-bus.sh"

POLKITD=${POLKITD:-/usr/lib/polkit-1/polkitd}
need "$DBUS_DAEMON" "$BUSCTL" setpriv
[ -x "$POLKITD" ] || skip_all "polkitd not found (Debian: polkitd, which tools/install-deps.sh installs)"
[ "$(id -u)" -eq 0 ] || skip_all "polkitd's actions and rules live in /usr/share and /etc: needs root"
actions_dir=/usr/share/polkit-1/actions
rules_dir=/etc/polkit-1/rules.d
[ -d "$actions_dir" ] && [ -d "$rules_dir" ] || skip_all "no $actions_dir or $rules_dir"

action_file=$actions_dir/org.vfiomap1.test-$$.policy
rule_file=$rules_dir/49-vfiomap1-test-$$.rules
polkit_pid=
cleanup_polkit() {
        rm -f "$action_file" "$rule_file"
        stop_pid "$polkit_pid"
        cleanup_bus
}
trap cleanup_polkit EXIT

cp "$top_srcdir/systemd/org.vfiomap1.policy" "$action_file"
cat >"$rule_file" <<'EOR'
// Installed by vfiomap's tests/integration/test-polkit.sh for the duration of the test.
polkit.addRule(function(action, subject) {
        if (action.id == "org.vfiomap1.manage" && subject.user == "nobody")
                return polkit.Result.YES;
});
EOR
chmod 644 "$action_file" "$rule_file"

make_host "$tmp/host"
start_bus
"$POLKITD" --no-debug </dev/null >"$tmp/polkitd.log" 2>&1 &
polkit_pid=$!
polkit_up() {
        for _i in $(seq 1 100); do
                "$BUSCTL" call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s \
                        org.freedesktop.PolicyKit1 2>/dev/null | grep -q true && return 0
                sleep 0.05
        done
        sed 's/^/#   /' "$tmp/polkitd.log"
        return 1
}
ok "polkitd runs on the private bus" polkit_up
ok "vfiomapd starts" start_daemon --root="$tmp/host"

as() {
        _uid=$1
        shift
        setpriv --reuid="$_uid" --regid="$_uid" --clear-groups env DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" "$@"
}
denied() {
        # busctl prints the errno text of a well-known error ("Access denied"), not the daemon's message.
        case $1 in *"Not authorized"* | *"Access denied"*) return 0 ;; *) echo "# $1"; return 1 ;; esac
}
nic=$(spec_json vm3 0000:00:1f.6)

# uid 1 ("daemon" on Debian): a user the rule does not name.
out=$(as 1 "$BUSCTL" call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Claim ss vm3 "$nic" 2>&1)
ok "a user without the grant: Claim is AccessDenied" denied "$out"
is "$(vprop /org/vfiomap1 org.vfiomap1.Manager NMachines)" "u 0" "nothing was claimed"
out=$(as 1 "$BUSCTL" --allow-interactive-authorization=yes call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager \
        Claim ss vm3 "$nic" 2>&1)
ok "... also when interactive authorization is allowed (no agent)" denied "$out"

ok "nobody, granted by the rule: Claim succeeds" \
        as 65534 "$BUSCTL" --quiet call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Claim ss vm3 "$nic"
is "$(vprop /org/vfiomap1/group/3 org.vfiomap1.Group Owner)" 's "vm3"' "group 3 is vm3's"
out=$(as 1 "$BUSCTL" call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Release s vm3 2>&1)
ok "a user without the grant: Release is AccessDenied" denied "$out"
is "$(vprop /org/vfiomap1/group/3 org.vfiomap1.Group Owner)" 's "vm3"' "group 3 is still vm3's"
ok "nobody: Release succeeds" as 65534 "$BUSCTL" call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Release s vm3
is "$(vprop /org/vfiomap1 org.vfiomap1.Manager NMachines)" "u 0" "the claim is gone"

# Concurrent queries while polkit thinks: each call is parked and dispatched again on polkit's answer.
pids=
for i in 1 2 3 4 5 6 7 8; do
        as 1 "$BUSCTL" call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Claim ss vm3 "$nic" \
                >"$tmp/par-$i.out" 2>&1 &
        pids="$pids $!"
done
for p in $pids; do wait "$p"; done
ok "8 concurrent unauthorized claims: all AccessDenied" sh -c "[ \$(cat '$tmp'/par-*.out | grep -c 'Access denied') -eq 8 ]"

# While polkit thinks (stopped here), each call waits, holding its message: one user may have 16 waiting,
# later ones are refused at once (POLKIT_QUERIES_PER_USER_MAX, daemon/bus-util.c).
kill -STOP "$polkit_pid"
pids=
for i in $(seq 1 20); do
        as 1 "$BUSCTL" call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Claim ss vm3 "$nic" \
                >"$tmp/cap-$i.out" 2>&1 &
        pids="$pids $!"
done
sleep 3
kill -CONT "$polkit_pid"
for p in $pids; do wait "$p"; done
limited=$(cat "$tmp"/cap-*.out | grep -c 'No buffer space\|Too many calls')
denied=$(cat "$tmp"/cap-*.out | grep -c 'Access denied\|Not authorized')
is "$limited $denied" "4 16" "20 calls of one user while polkit is busy: 16 wait and are denied, 4 are refused"
ok "vfiomapd still answers" sh -c "'$BUSCTL' call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager ListMachines >/dev/null"

ok "root: Claim succeeds" sh -c "'$BUSCTL' call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Claim ss vm3 '$nic' >/dev/null"
stop_pid "$polkit_pid"
polkit_pid=
ok "root with polkitd gone: Release succeeds" sh -c "'$BUSCTL' call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Release s vm3 >/dev/null"
out=$(as 65534 "$BUSCTL" call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Claim ss vm3 "$nic" 2>&1)
ok "nobody with polkitd gone: AccessDenied (nobody to ask means no)" denied "$out"
ok "vfiomapd is still running" kill -0 "$daemon_pid"

rm -f "$action_file" "$rule_file"
ok "the temporary polkit files are removed" sh -c "[ ! -e '$action_file' ] && [ ! -e '$rule_file' ]"
done_testing
