#!/bin/sh
# Faults: vfiomapd killed with SIGKILL at random points of Claim and Release, again and again; a full disk
# under its runtime directory; devices vanishing while the whole host is read again. Every acknowledged
# claim must survive, none may be half-written, and a failed write must change nothing.
#
#   FAULT_CYCLES=N   kill -9 cycles (default 200; docs/RELIABILITY.md quotes a longer run)
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/lib-bus.sh"

need "$DBUS_DAEMON" "$BUSCTL" jq unshare nsenter
[ "$(id -u)" -eq 0 ] || skip_all "the full disk is a tmpfs in a mount namespace of its own: needs root"
cycles=${FAULT_CYCLES:-200}
make_host "$tmp/host"
start_bus
ok "vfiomapd starts" start_daemon --root="$tmp/host"

machines() {
        "$BUSCTL" --json=short call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager ListMachines |
                jq -r '.data[0][][0]' | sort
}
spec_of() {
        printf '{"name": "%s", "machine": "pc-q35-8.2", "memory": "1G"}' "$1"
}
# A random delay of 0..29 ms: the kill lands before, during or after the write.
random_sleep() {
        sleep "0.0$(awk -v s="$1" 'BEGIN { srand(s); printf "%02d", int(rand() * 30) }')"
}

# ---- kill -9 in the middle of Claim and Release ----
# Per machine: "yes" (claim acknowledged), "no" (release acknowledged), "?" (in flight when killed).
: >"$tmp/expect"
lost=0 phantom=0 torn=0 restarts=0 acked=0
i=0
while [ $i -lt "$cycles" ]; do
        i=$((i + 1))
        new=vm-$i
        old=$(grep ' yes$' "$tmp/expect" | awk 'NR == 1 { print $1 }')
        (
                "$BUSCTL" call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Claim ss "$new" "$(spec_of "$new")" \
                        >/dev/null 2>&1 && echo "$new yes" >>"$tmp/acks"
        ) &
        claim_pid=$!
        release_pid=
        # Every other cycle a release races the claim, so both kinds of write are cut.
        if [ -n "$old" ] && [ $((i % 2)) -eq 0 ]; then
                (
                        "$BUSCTL" call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Release s "$old" \
                                >/dev/null 2>&1 && echo "$old no" >>"$tmp/acks"
                ) &
                release_pid=$!
                sed -i "s/^$old yes$/$old ?/" "$tmp/expect"
        fi
        echo "$new ?" >>"$tmp/expect"
        random_sleep "$i"
        kill9_daemon
        wait $claim_pid $release_pid 2>/dev/null
        # What was acknowledged before the kill is known for sure now.
        if [ -s "$tmp/acks" ]; then
                while read -r name state; do
                        sed -i "s/^$name .*$/$name $state/" "$tmp/expect"
                        acked=$((acked + 1))
                done <"$tmp/acks"
                : >"$tmp/acks"
        fi
        if ! start_daemon --root="$tmp/host" >/dev/null; then
                torn=$((torn + 1)) # the claims file did not load
                echo "# cycle $i: vfiomapd did not start again"
                break
        fi
        restarts=$((restarts + 1))
        machines >"$tmp/present"
        # Compare: acknowledged claims present, acknowledged releases absent, nothing never asked for.
        # What is present is known for sure from now on. Prints "LOST PHANTOM" and the reasons.
        awk -v cycle=$i -v next_file="$tmp/expect.new" '
                FILENAME == ARGV[1] { present[$1] = 1; next }
                {
                        seen[$1] = 1
                        if ($1 in present) {
                                if ($2 == "no") { phantom++; print "# cycle " cycle ": released " $1 " is back" }
                                print $1, "yes" > next_file
                        } else if ($2 == "yes") {
                                lost++; print "# cycle " cycle ": acknowledged " $1 " is lost"
                        }
                }
                END {
                        for (p in present)
                                if (!(p in seen)) { phantom++; print "# cycle " cycle ": " p " appeared" }
                        close(next_file)
                        print "counts", lost + 0, phantom + 0
                }' "$tmp/present" "$tmp/expect" >"$tmp/verdict"
        touch "$tmp/expect.new"
        mv "$tmp/expect.new" "$tmp/expect"
        grep '^#' "$tmp/verdict" || true
        lost=$((lost + $(awk '$1 == "counts" { print $2 }' "$tmp/verdict")))
        phantom=$((phantom + $(awk '$1 == "counts" { print $3 }' "$tmp/verdict")))
done
echo "# figure: $restarts kill -9 cycles, $acked acknowledged operations, $lost lost, $phantom phantom, $torn unreadable"
is "$restarts" "$cycles" "vfiomapd restarted after each of $cycles kill -9"
is "$lost" 0 "no acknowledged claim was lost"
is "$phantom" 0 "no acknowledged release came back, nothing appeared"
ok "claims.json is valid JSON (or absent: no claim ever acknowledged)" sh -c \
        "[ ! -e '$tmp/run/claims.json' ] || jq -e .version '$tmp/run/claims.json' >/dev/null"
ok "no temporary file is left behind after the restarts" sh -c "! ls -A '$tmp/run' '$tmp/run/machines' 2>/dev/null | grep -q '^\.#'"
stop_daemon

# ---- a full disk ----
# A 64 KiB tmpfs over a directory, in a mount namespace of its own held by a sleeping process: nothing
# outside it sees the mount, and the real disk is never filled.
mkdir -p "$tmp/full"
unshare -m --propagation private sh -c "mount -t tmpfs -o size=64k,mode=755 vfiomap-test '$tmp/full' && : >'$tmp/ns-ready' && exec sleep 600" &
holder=$!
for _i in $(seq 1 100); do [ -e "$tmp/ns-ready" ] && break; sleep 0.05; done
in_ns() {
        nsenter --target "$holder" --mount -- "$@"
}
start_daemon_ns() {
        # nsenter itself, not a shell function in the background: $! must be the daemon (nsenter execs it).
        nsenter --target "$holder" --mount -- "$VFIOMAPD" --runtime-dir="$tmp/full" --root="$tmp/host" \
                </dev/null >>"$tmp/daemon.log" 2>&1 &
        daemon_pid=$!
        wait_for_name
}
ok "vfiomapd starts with its runtime directory on a 64 KiB tmpfs" start_daemon_ns
# Claims with 12 KiB specs (spaces are valid JSON) until the disk is full.
pad=$(printf '%12000s' '')
n_ok=0 full=
for n in $(seq 1 20); do
        out=$("$BUSCTL" call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Claim ss "big-$n" \
                "{\"name\": \"big-$n\", \"machine\": \"pc-q35-8.2\", \"memory\": \"1G\"}$pad" 2>&1)
        if [ $? -eq 0 ]; then
                n_ok=$((n_ok + 1))
                in_ns cat "$tmp/full/claims.json" >"$tmp/last-good.json"
        else
                full=$out
                break
        fi
done
echo "# figure: $n_ok claims fitted on the 64 KiB tmpfs, then: $full"
case $full in *"No space left on device"*) r=0 ;; *) r=1 ;; esac
ok "the claim that does not fit fails, saying the disk is full" [ $r -eq 0 ]
ok "claims.json is exactly what it was after the last successful claim" sh -c "nsenter --target $holder --mount -- cat '$tmp/full/claims.json' | cmp -s - '$tmp/last-good.json'"
is "$(machines | grep -c big-)" "$n_ok" "the daemon holds exactly the $n_ok successful claims"
ok "no temporary file is left on the full disk" sh -c "! nsenter --target $holder --mount -- ls -A '$tmp/full' | grep -q '^\.#'"
out=$("$BUSCTL" call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Claim ss "big-$n" \
        "{\"name\": \"big-$n\", \"machine\": \"pc-q35-8.2\", \"memory\": \"1G\"}$pad" 2>&1)
ok "retrying on the full disk fails the same way" sh -c "echo '$out' | grep -q 'No space left on device'"
# A new claim of a machine that has one (libvirt's reconnect, a changed domain) replaces it only once the
# new one is on disk: on the full disk the old claim must stay, in memory and on disk.
spec_before=$(vprop /org/vfiomap1/machine/big_2d1 org.vfiomap1.Machine Spec | md5sum)
out=$("$BUSCTL" call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Claim ss big-1 \
        "{\"name\": \"big-1\", \"machine\": \"pc-q35-8.2\", \"memory\": \"2G\"}$pad$pad" 2>&1)
ok "a new claim of big-1 that does not fit fails" sh -c "echo '$out' | grep -q 'No space left on device'"
is "$(vprop /org/vfiomap1/machine/big_2d1 org.vfiomap1.Machine Spec | md5sum)" "$spec_before" \
        "big-1 keeps its old claim in memory"
ok "and on disk" sh -c "nsenter --target $holder --mount -- cat '$tmp/full/claims.json' | cmp -s - '$tmp/last-good.json'"
old_pid=$daemon_pid
kill9_daemon
ok "the killed daemon is gone" sh -c "! kill -0 $old_pid 2>/dev/null"
ok "after kill -9 vfiomapd starts again from the full disk" start_daemon_ns
is "$(machines | grep -c big-)" "$n_ok" "with the same $n_ok claims"
ok "releasing one frees space" sh -c "'$BUSCTL' call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Release s big-1"
ok "and the claim that did not fit fits now" sh -c "'$BUSCTL' call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Claim ss big-$n '{\"name\": \"big-$n\", \"machine\": \"pc-q35-8.2\", \"memory\": \"1G\"}' >/dev/null"
stop_daemon
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

# ---- devices vanishing while the host is read ----
# SIGHUP makes vfiomapd read the whole host again (as after a uevent overflow); meanwhile devices and groups
# disappear and come back under it. It must survive every partial read, and end where a fresh start ends.
ok "vfiomapd starts" start_daemon --root="$tmp/host"
cp -a "$tmp/host" "$tmp/host.orig"
churn() {
        _end=$(($(date +%s) + $1))
        while [ "$(date +%s)" -lt "$_end" ]; do
                rm -rf "$tmp/host/sys/devices/pci0000:00/0000:00:1d.0/0000:02:00.0" \
                        "$tmp/host/sys/kernel/iommu_groups/3"
                rm -f "$tmp/host/sys/bus/pci/devices/0000:00:1f.6"
                cp -a "$tmp/host.orig/sys/devices/pci0000:00/0000:00:1d.0/0000:02:00.0" \
                        "$tmp/host/sys/devices/pci0000:00/0000:00:1d.0/"
                cp -a "$tmp/host.orig/sys/kernel/iommu_groups/3" "$tmp/host/sys/kernel/iommu_groups/"
                cp -a "$tmp/host.orig/sys/bus/pci/devices/0000:00:1f.6" "$tmp/host/sys/bus/pci/devices/"
        done
}
churn 5 &
churn_pid=$!
hups=0
while kill -0 "$churn_pid" 2>/dev/null; do
        kill -HUP "$daemon_pid" 2>/dev/null || break
        hups=$((hups + 1))
        sleep 0.01
done
wait "$churn_pid"
echo "# figure: $hups rescans while devices vanished and came back"
ok "vfiomapd survived $hups rescans of a changing tree" kill -0 "$daemon_pid"
kill -HUP "$daemon_pid"
sleep 0.5
vcall_json Describe | jq -S 'del(.machines)' >"$tmp/after-churn.json"
stop_daemon
start_daemon --root="$tmp/host" >/dev/null
vcall_json Describe | jq -S 'del(.machines)' >"$tmp/fresh.json"
ok "its model then equals a fresh start's" cmp -s "$tmp/after-churn.json" "$tmp/fresh.json"

done_testing
