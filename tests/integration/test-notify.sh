#!/bin/sh
# The service manager protocol (sd_notify(3)): vfiomapd says READY=1 only once org.vfiomap1 is owned, so
# Type=notify ordering holds for clients, pings the watchdog at WATCHDOG_USEC/2, and says STOPPING=1 on
# SIGTERM. The notification socket is a datagram socket of the test's own, read with socat.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/lib-bus.sh"

need socat "$BUSCTL"
start_bus

notify="$tmp/notify.socket"
socat -u "UNIX-RECV:$notify" "OPEN:$tmp/notify.log,creat,append" 2>>"$tmp/socat.log" &
socat_pid=$!
for _i in $(seq 1 100); do
        [ -S "$notify" ] && break
        sleep 0.05
done
ok "a notification socket to listen on" [ -S "$notify" ]

# Each datagram arrives without a trailing newline: socat appends them as they come.
mkdir -p "$tmp/run"
# WATCHDOG_PID must name the daemon itself: exec keeps the shell's PID.
NOTIFY_SOCKET="$notify" WATCHDOG_USEC=200000 sh -c 'WATCHDOG_PID=$$ exec "$0" "$@"' \
        "$VFIOMAPD" --root "$top_srcdir/tests/hosts/intel-client" --runtime-dir "$tmp/run" --no-libvirt \
        </dev/null >>"$tmp/daemon.log" 2>&1 &
daemon_pid=$!

ready_seen_with_name=no
for _i in $(seq 1 200); do
        if grep -q "READY=1" "$tmp/notify.log" 2>/dev/null; then
                if "$BUSCTL" call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
                        NameHasOwner s org.vfiomap1 2>/dev/null | grep -q true; then
                        ready_seen_with_name=yes
                fi
                break
        fi
        sleep 0.05
done
ok "READY=1 is sent" grep -q "READY=1" "$tmp/notify.log"
is "$ready_seen_with_name" yes "when READY=1 arrives, org.vfiomap1 is already owned"

# ---- a second vfiomapd while the first owns org.vfiomap1 ----
# It must say who owns the name and exit, never log "Serving" or send READY=1: a service manager would
# take it for a running service, and it would reconcile claims beside the real one. Its own notification
# socket tells what it sent; timeout stops one that stays (it did: the name request's reply was unchecked).
notify2="$tmp/notify2.socket"
socat -u "UNIX-RECV:$notify2" "OPEN:$tmp/notify2.log,creat,append" 2>>"$tmp/socat.log" &
socat2_pid=$!
for _i in $(seq 1 100); do
        [ -S "$notify2" ] && break
        sleep 0.05
done
mkdir -p "$tmp/run2"
NOTIFY_SOCKET="$notify2" timeout 10 "$VFIOMAPD" --root "$top_srcdir/tests/hosts/intel-client" \
        --runtime-dir "$tmp/run2" --no-libvirt </dev/null >"$tmp/second.log" 2>&1
r=$?
sleep 0.2
kill "$socat2_pid" 2>/dev/null || true
wait "$socat2_pid" 2>/dev/null || true
is "$r" 1 "a second vfiomapd exits with status 1 at once"
ok "it names the owner of org.vfiomap1: the first daemon's PID" \
        grep -q "org.vfiomap1 is already owned by PID $daemon_pid " "$tmp/second.log"
ok "it does not log \"Serving\"" sh -c "! grep -q 'Serving' '$tmp/second.log'"
ok "it sends no READY=1" sh -c "! grep -q 'READY=1' '$tmp/notify2.log' 2>/dev/null"
[ -s "$tmp/second.log" ] && sed 's/^/# second: /' "$tmp/second.log"
is "$("$BUSCTL" call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
        GetConnectionUnixProcessID s org.vfiomap1 2>&1)" "u $daemon_pid" "the first daemon still owns the name"

sleep 1
pings=$(grep -o "WATCHDOG=1" "$tmp/notify.log" | wc -l)
ok "the watchdog is pinged about every 100 ms ($pings pings in ~1 s)" [ "$pings" -ge 4 ]

stop_daemon
ok "STOPPING=1 on SIGTERM" grep -q "STOPPING=1" "$tmp/notify.log"
kill "$socat_pid" 2>/dev/null || true
wait "$socat_pid" 2>/dev/null || true
[ -s "$tmp/notify.log" ] && echo "# notifications: $(tr '\n' ' ' <"$tmp/notify.log" | cut -c1-200)"
done_testing
