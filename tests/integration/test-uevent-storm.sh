#!/bin/sh
# Uevent storms on a real netlink socket. vfiomapd runs with --root --follow-uevents in a network namespace
# of its own (netlink multicast stays inside it), and uevent-flood, root in the same namespace, sends it
# uevents the way udevd does. First a storm the receive queue absorbs; then an overflow: the daemon is
# stopped, the flood goes on until the kernel drops messages (the Drops column of /proc/PID/net/netlink),
# the host changes, and the events of that change are lost. Either way the daemon must end with the model a
# fresh read of the tree gives (vfiomapctl --root), and with its machines' states following.
#
#   STORM_EVENTS=N    events of the absorbed storm (default 40000)
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/lib-bus.sh"

need "$DBUS_DAEMON" "$BUSCTL" jq unshare nsenter
[ "$(id -u)" -eq 0 ] || skip_all "a network namespace of its own needs root"
unshare -n true 2>/dev/null || skip_all "cannot create a network namespace here"
flood_bin=$top_builddir/tests/integration/uevent-flood
make_host "$tmp/host"
start_bus

start_daemon_netns() {
        mkdir -p "$tmp/run"
        unshare -n "$VFIOMAPD" --runtime-dir="$tmp/run" --root="$tmp/host" --follow-uevents --debug \
                </dev/null >>"$tmp/daemon.log" 2>&1 &
        daemon_pid=$!
        wait_for_name
}
flood() {
        nsenter --target "$daemon_pid" --net -- "$flood_bin" "$@"
}
dev() { # DEVPATH of a function of make_host's tree
        echo "/devices/$(readlink -f "$tmp/host/sys/bus/pci/devices/$1" | sed "s|^$tmp/host/sys/devices/||")"
}
# The host members of Describe against vfiomapctl's fresh read of the tree, until equal or 60 s pass
# (without the pci.ids names, which only the client adds).
consistent() {
        for what in devices groups iommu; do
                "$VFIOMAPCTL" --root="$tmp/host" "$what" --json=short 2>/dev/null |
                        jq -S 'if type == "array" then map(del(.vendor_name, .device_name)) else . end' \
                        >"$tmp/fresh-$what.json"
        done
        _end=$(($(date +%s) + 60))
        while [ "$(date +%s)" -lt "$_end" ]; do
                vcall_json Describe >"$tmp/describe.json" 2>/dev/null
                _same=1
                for what in devices groups iommu; do
                        jq -S ".$what" "$tmp/describe.json" | cmp -s - "$tmp/fresh-$what.json" || _same=0
                done
                [ $_same -eq 1 ] && return 0
                sleep 0.5
        done
        for what in devices groups iommu; do
                jq -S ".$what" "$tmp/describe.json" | diff - "$tmp/fresh-$what.json" | head -20 | sed 's/^/#   /'
        done
        return 1
}
drops() {
        # /proc/PID/net/netlink: sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode; Eth 15 is
        # NETLINK_KOBJECT_UEVENT. The daemon's socket is the one with its receive memory.
        awk '$2 == 15 { d += $9 } END { print d + 0 }' "/proc/$daemon_pid/net/netlink"
}

ok "vfiomapd starts in a network namespace of its own" start_daemon_netns
gpu=$(spec_json win11 0000:01:00.0 0000:01:00.1)
ok "win11 claims group 1" sh -c "'$BUSCTL' call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Claim ss win11 '$gpu' >/dev/null"

# ---- a storm the queue absorbs ----
events=${STORM_EVENTS:-40000}
add_device "$tmp/host" pci0000:00 0000:00:1c.0 0x8086 0xa33c 0x060400 pcieport 4
add_device "$tmp/host" pci0000:00/0000:00:1c.0 0000:03:00.0 0x8086 0x1533 0x020000 igb 4
list=
for a in 0000:00:00.0 0000:00:01.0 0000:01:00.0 0000:01:00.1 0000:00:1d.0 0000:02:00.0 0000:00:1f.6; do
        list="$list change $(dev $a)"
done
list="$list add $(dev 0000:00:1c.0) add $(dev 0000:03:00.0)"
t0=$(date +%s.%N)
# shellcheck disable=SC2086 # $list is a list of arguments
sent=$(flood $((events / 9)) $list)
ok "the absorbed storm: $sent uevents sent" [ "${sent:-0}" -gt 0 ]
ok "the model then equals a fresh read of the tree" consistent
t1=$(date +%s.%N)
is "$(vprop /org/vfiomap1 org.vfiomap1.Manager NDevices)" "u 9" "NDevices counts the two devices added"
is "$(drops)" 0 "nothing was dropped"
echo "# figure: storm of $sent uevents absorbed, consistent after $(awk -v a="$t0" -v b="$t1" "BEGIN { printf \"%.1f\", b - a }") s, $(drops) dropped"

# ---- an overflow ----
kill -STOP "$daemon_pid"
rounds=0
while [ "$(drops)" -eq 0 ] && [ $rounds -lt 40 ]; do
        # shellcheck disable=SC2086
        flood 5000 $list >/dev/null
        rounds=$((rounds + 1))
done
before=$(drops)
ok "the stopped daemon's queue overflowed after $((rounds * 5000 * 9)) uevents" [ "$before" -gt 0 ]
# The host changes while the queue is full: these events are lost.
rm -rf "$tmp/host/sys/devices/pci0000:00/0000:00:1d.0/0000:02:00.0" "$tmp/host/sys/bus/pci/devices/0000:02:00.0" \
        "$tmp/host/sys/kernel/iommu_groups/2/devices/0000:02:00.0"
add_device "$tmp/host" pci0000:00/0000:00:1c.0 0000:03:00.1 0x8086 0x1533 0x020000 igb 4
audio=$(dev 0000:01:00.1)
rm -rf "$tmp/host/sys$audio" "$tmp/host/sys/bus/pci/devices/0000:01:00.1" \
        "$tmp/host/sys/kernel/iommu_groups/1/devices/0000:01:00.1" \
        "$tmp/host/sys/devices/virtual/iommu/dmar0/devices/0000:01:00.1" \
        "$tmp/host/sys/devices/virtual/iommu/dmar0/devices/0000:02:00.0"
flood 1 remove /devices/pci0000:00/0000:00:1d.0/0000:02:00.0 add "$(dev 0000:03:00.1)" remove "$audio" >/dev/null
echo "# figure: overflow after $((rounds * 5000 * 9)) uevents, $(drops) dropped"
kill -CONT "$daemon_pid"
ok "after the overflow the model equals a fresh read of the tree" consistent
ok "vfiomapd noticed the overflow and read the whole host again" grep -q "uevent queue overflowed" "$tmp/daemon.log"
is "$(vprop /org/vfiomap1 org.vfiomap1.Manager NDevices)" "u 8" "NDevices: two gone, one added"
is "$(vprop /org/vfiomap1/machine/win11 org.vfiomap1.Machine State)" 's "degraded"' \
        "win11 is degraded: its audio function is gone, an event that was lost"
ok "vfiomapd is still running" kill -0 "$daemon_pid"
done_testing
