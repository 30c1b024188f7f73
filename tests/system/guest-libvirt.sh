#!/bin/bash
# Guest side of check-libvirt.sh, inside the booted Debian system with the vfiomap package installed:
# Debian's libvirtd (its own units, socket activation), the installed qemu hook, and nested TCG guests
# that own real VFIO groups of the image's emulated VT-d. Prints TAP lines (guest-lib.sh); exits 0
# unless the script itself breaks. Domain XML: tests/system/domains/.
set -u
# shellcheck source=tests/system/guest-lib.sh
. "$(dirname "$0")/guest-lib.sh"
domains=$(cd "$(dirname "$0")/domains" && pwd)
out_dir=/mnt/out

e1000=0000:08:01.0 # behind the PCIe-to-PCI bridge 07:00.0, in one group with the edu 08:02.0
edu_peer=0000:08:02.0
edu=0000:02:00.0   # below rp2, alone in its group: hot-added
nic=0000:01:00.0   # below rp1, alone in its group: the guest that cannot map its RAM
group=$(group_of "$e1000")
edu_group=$(group_of "$edu")
hook=/etc/libvirt/hooks/qemu.d/50-vfiomap

cleanup() {
        local d
        for d in vm-a vm-b vm-above-width vm-low-ram-ioapic vm-viommu-split vm-viommu-bridge vm-no-reset; do
                virsh -q destroy "$d" >/dev/null 2>&1
        done
        journalctl -b --no-pager -o short-monotonic >"$out_dir/journal.txt"
}
trap cleanup EXIT

virsh_start() { # DOMAIN: its output (libvirt's error included) in $out_dir/start-DOMAIN.txt
        local started=$SECONDS st=0
        virsh start "$1" >"$out_dir/start-$1.txt" 2>&1 || st=$?
        echo "# virsh start $1: status $st after $((SECONDS - started)) s"
        return "$st"
}
group_owner() { busctl get-property org.vfiomap1 "/org/vfiomap1/group/$1" org.vfiomap1.Group Owner; }
group_users() { busctl get-property org.vfiomap1 "/org/vfiomap1/group/$1" org.vfiomap1.Group Users; }
machine_path() { busctl call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager GetMachine s "$1" | cut -d'"' -f2; }
machine_groups() { busctl get-property org.vfiomap1 "$(machine_path "$1")" org.vfiomap1.Machine Groups; }
qemu_pid_of() { cat "/run/libvirt/qemu/$1.pid" 2>/dev/null; }

wait_until 60 systemctl is-active --quiet vfiomapd
for d in vm-a vm-b vm-above-width vm-low-ram-ioapic vm-viommu-split vm-viommu-bridge vm-no-reset; do
        virsh -q define "$domains/$d.xml" >/dev/null || not_ok "virsh define $d"
done
check "libvirtd.service runs from Debian's units, the hook is installed" expect_equal \
        "$(systemctl is-active libvirtd) $(test -x "$hook" && echo hook)" "active hook"

# ---- a guest that owns a real group ----
virsh_start vm-a
check "virsh start vm-a (hostdev $e1000, managed='yes') succeeds" expect_equal "$(virsh domstate vm-a)" running
diag <"$out_dir/start-vm-a.txt"
check "libvirt gave $e1000 to vfio-pci" expect_equal "$(driver_of "$e1000")" vfio-pci
check "vfiomapd shows group $group claimed by vm-a" expect_equal "$(group_owner "$group")" 's "vm-a"'
qemu_pid=$(qemu_pid_of vm-a)
users_ok() { [ "$(group_users "$group")" = "au 1 $qemu_pid" ]; }
wait_until 30 users_ok
check "and vm-a's QEMU (PID $qemu_pid) as the /dev/vfio/$group user" expect_equal \
        "$(group_users "$group")" "au 1 $qemu_pid"
check "vfiomapctl machine vm-a names the group and the QEMU" \
        expect_match "$(vfiomapctl machine vm-a 2>&1)" "$qemu_pid"
vfiomapctl machine vm-a 2>&1 | diag
vfiomapctl layout vm-a >"$out_dir/layout-vm-a.txt" 2>&1
check "vfiomapctl layout vm-a: no error (its BARs are vfio-pci's now, /proc/iomem says so)" \
        test -z "$(grep '^  error' "$out_dir/layout-vm-a.txt")"
diag <"$out_dir/layout-vm-a.txt"

# ---- a second guest with a device of the same group ----
check "virsh start vm-b (hostdev $edu_peer, same group) fails" test "$(virsh_start vm-b >/dev/null; echo $?)" != 0
err=$(cat "$out_dir/start-vm-b.txt")
printf '%s\n' "$err" | diag
check "virsh shows vfiomap's message naming group $group and its owner vm-a" \
        expect_match "$err" "vfiomap: Group $group \\(.*\\) is owned by machine vm-a"
check "vm-b is not running, vm-a still is" expect_equal "$(virsh domstate vm-b) $(virsh domstate vm-a)" \
        "shut off running"

# ---- hot-adding a device to the running guest ----
vfiomapctl check-hotplug vm-a "$edu" >"$out_dir/check-hotplug-before.txt" 2>&1
check "vfiomapctl check-hotplug vm-a $edu before the attach: possible (exit 0)" expect_equal "$?" 0
diag <"$out_dir/check-hotplug-before.txt"
path=$(machine_path vm-a)
busctl monitor --json=short --match "type='signal',sender='org.vfiomap1'" \
        >"$out_dir/monitor.json" 2>/dev/null &
monitor=$!
sleep 1
out=$(virsh attach-device vm-a "$domains/hotplug-edu.xml" --live 2>&1)
check "virsh attach-device vm-a ($edu) succeeds" expect_match "$out" 'attached successfully'
printf '%s\n' "$out" | diag
grown() { machine_groups vm-a | grep -qw "$edu_group"; }
wait_until 30 grown
check "vfiomapd followed DEVICE_ADDED: vm-a's claim now holds group $edu_group too" grown
# A grown claim is a new machine object (reconcile.c): MachineNew, or PropertiesChanged on vm-a's path.
announced() {
        jq -se --arg path "$path" 'any(.[]; .member == "MachineNew" and .payload.data[0] == "vm-a"
                                        or .path == $path)' "$out_dir/monitor.json" >/dev/null
}
check "and announced it on the bus (a signal for vm-a)" wait_until 10 announced
jq -c '[.member, .path, .payload.data]' "$out_dir/monitor.json" 2>&1 | head -n 8 | diag
kill "$monitor" 2>/dev/null
wait "$monitor" 2>/dev/null
vfiomapctl check-hotplug vm-a "$edu" >"$out_dir/check-hotplug-after.txt" 2>&1
check "check-hotplug vm-a $edu now says vm-a already has it" \
        grep -qi 'already' "$out_dir/check-hotplug-after.txt"
diag <"$out_dir/check-hotplug-after.txt"

# ---- restarts with the guest running ----
pid=$(unit_property vfiomapd MainPID)
kill -9 "$pid"
restarted() { [ "$(unit_property vfiomapd NRestarts)" = 1 ] && [ "$(group_owner "$group")" = 's "vm-a"' ]; }
wait_until 60 restarted
check "kill -9 vfiomapd: systemd restarts it and vm-a's claim survives" expect_equal \
        "$(unit_property vfiomapd NRestarts) $(group_owner "$group")" '1 s "vm-a"'
systemctl restart libvirtd
wait_until 60 virsh -q list
check "systemctl restart libvirtd with vm-a running: vm-a still runs, still owns group $group" expect_equal \
        "$(virsh domstate vm-a) $(group_owner "$group")" 'running s "vm-a"'
check "the hook ran 'reconnect begin' and vfiomapd logged nothing wrong about vm-a" \
        test -z "$(journalctl -b --no-pager -u vfiomapd -p warning | grep vm-a)"

# ---- destroy releases ----
virsh -q destroy vm-a >/dev/null
released() { [ "$(group_owner "$group")" = 's ""' ]; }
wait_until 30 released
check "virsh destroy vm-a releases group $group" expect_equal "$(group_owner "$group")" 's ""'
check "and group $edu_group" expect_equal "$(group_owner "$edu_group")" 's ""'
check "vfiomapctl machines lists no machine" expect_match "$(vfiomapctl machines 2>&1)" '^0 machines'

# ---- a device without a reset: QEMU starts, and says so ----
vfiomapctl layout vm-no-reset >"$out_dir/layout-vm-no-reset.txt" 2>&1
check "vfiomapctl layout vm-no-reset: warning no-reset for 0000:00:1e.0" \
        grep -q 'warning *no-reset' "$out_dir/layout-vm-no-reset.txt"
virsh_start vm-no-reset
check "virsh start vm-no-reset succeeds (a warning does not block)" expect_equal "$(virsh domstate vm-no-reset)" running
logged_no_reset() { grep -q 'Cannot reset device 0000:00:1e.0' /var/log/libvirt/qemu/vm-no-reset.log; }
wait_until 20 logged_no_reset
# QEMU 7.2 (seen here): "vfio: Cannot reset device 0000:00:1e.0, no available reset mechanism."
check "QEMU's own words in its log: vfio: Cannot reset device 0000:00:1e.0, no available reset mechanism" \
        grep -q 'vfio: Cannot reset device 0000:00:1e.0, no available reset mechanism' \
        /var/log/libvirt/qemu/vm-no-reset.log
grep 'Cannot reset' /var/log/libvirt/qemu/vm-no-reset.log | diag
virsh -q destroy vm-no-reset >/dev/null 2>&1

# ---- a guest vIOMMU: one host group, one guest address space ----
check "vm-viommu-bridge: libvirt put both conventional functions behind a pcie-to-pci-bridge it added" \
        expect_match "$(virsh dumpxml vm-viommu-bridge)" "model='pcie-to-pci-bridge'"
vfiomapctl layout vm-viommu-bridge >"$out_dir/layout-vm-viommu-bridge.txt" 2>&1
check "vfiomapctl layout vm-viommu-bridge: no address-space problem (one requester ID)" \
        test -z "$(grep viommu-group-address-spaces "$out_dir/layout-vm-viommu-bridge.txt")"
virsh_start vm-viommu-bridge
check "virsh start vm-viommu-bridge succeeds with the hook" expect_equal "$(virsh domstate vm-viommu-bridge)" running
diag <"$out_dir/start-vm-viommu-bridge.txt"
virsh -q destroy vm-viommu-bridge >/dev/null 2>&1
vfiomapctl layout vm-viommu-split >"$out_dir/layout-vm-viommu-split.txt" 2>&1
check "vfiomapctl layout vm-viommu-split (the two on two root ports): error viommu-group-address-spaces" \
        grep -q 'error *viommu-group-address-spaces' "$out_dir/layout-vm-viommu-split.txt"
check "virsh start vm-viommu-split fails with the hook" \
        test "$(virsh_start vm-viommu-split >/dev/null; echo $?)" != 0
err=$(cat "$out_dir/start-vm-viommu-split.txt")
printf '%s\n' "$err" | diag
check "virsh shows vfiomap's explanation (group $group in two guest address spaces)" \
        expect_match "$err" "vfiomap: .*group $group used in multiple address spaces"

# ---- a failure vfiomap predicts, then the same start without the hook ----
vfiomapctl layout vm-above-width >"$out_dir/layout-vm-above-width.txt" 2>&1
check "vfiomapctl layout vm-above-width: error ram-beyond-iommu-width" \
        grep -q 'error *ram-beyond-iommu-width' "$out_dir/layout-vm-above-width.txt"
check "virsh start vm-above-width fails with the hook" \
        test "$(virsh_start vm-above-width >/dev/null; echo $?)" != 0
err=$(cat "$out_dir/start-vm-above-width.txt")
printf '%s\n' "$err" | diag
check "virsh shows vfiomap's explanation (RAM at 1 TiB beyond the 39-bit IOMMU)" \
        expect_match "$err" 'vfiomap.*0x10000000000.*39'
check "nothing was left bound: $nic is still on e1000e" expect_equal "$(driver_of "$nic")" e1000e
vfiomapctl layout vm-low-ram-ioapic >"$out_dir/layout-vm-low-ram-ioapic.txt" 2>&1
check "vfiomapctl layout vm-low-ram-ioapic: error low-ram-over-ioapic" \
        grep -q 'error *low-ram-over-ioapic' "$out_dir/layout-vm-low-ram-ioapic.txt"
check "virsh start vm-low-ram-ioapic fails with the hook" \
        test "$(virsh_start vm-low-ram-ioapic >/dev/null; echo $?)" != 0
err=$(cat "$out_dir/start-vm-low-ram-ioapic.txt")
printf '%s\n' "$err" | diag
check "virsh shows vfiomap's explanation (low RAM past the IOAPIC, QEMU aborts)" \
        expect_match "$err" 'vfiomap: RAM below 4 GiB ends at 0xff000000, above the IOAPIC'
chmod -x "$hook"
systemctl restart libvirtd
wait_until 60 virsh -q list
check "without the hook virsh start vm-above-width fails too" \
        test "$(virsh_start vm-above-width >/dev/null; echo $?)" != 0
err=$(cat "$out_dir/start-vm-above-width.txt")
printf '%s\n' "$err" | diag
# QEMU 7.2 under libvirt (seen here): "VFIO_MAP_DMA failed: Invalid argument", then "vfio 0000:01:00.0:
# failed to setup container for group 11: memory listener initialization failed: Region ram-node0:
# vfio_dma_map(0x..., 0x10000000000, 0x10000000, 0x...) = -2 (No such file or directory)": the -2 is errno
# as the first error_report() left it (libvirt's -msg timestamp=on), not the kernel's EINVAL.
check "QEMU's own error: the kernel refuses the mapping (VFIO_MAP_DMA failed: Invalid argument)" \
        expect_match "$err" 'VFIO_MAP_DMA failed: Invalid argument'
check "for the RAM at 1 TiB: vfio_dma_map(..., 0x10000000000, 0x10000000, ...), as vfiomap said" \
        expect_match "$err" 'memory listener initialization failed: Region ram-node0: vfio_dma_map\(0x[0-9a-f]+, 0x10000000000, 0x10000000, 0x[0-9a-f]+\)'
check "without the hook virsh start vm-low-ram-ioapic fails too" \
        test "$(virsh_start vm-low-ram-ioapic >/dev/null; echo $?)" != 0
err=$(cat "$out_dir/start-vm-low-ram-ioapic.txt")
printf '%s\n' "$err" | diag
# QEMU 7.2 (seen here): "qemu-system-x86_64: ./include/qemu/range.h:41: range_invariant: Assertion
# `range->lob <= range->upb || range->lob == range->upb + 1' failed."
check "QEMU's own error: it aborts on i440fx's PCI hole (range_invariant assertion), as vfiomap said" \
        expect_match "$err" 'range_invariant: Assertion .* failed'
check "without the hook virsh start vm-viommu-split fails too" \
        test "$(virsh_start vm-viommu-split >/dev/null; echo $?)" != 0
err=$(cat "$out_dir/start-vm-viommu-split.txt")
printf '%s\n' "$err" | diag
# QEMU 7.2 (seen here): '-device {"driver":"vfio-pci","host":"0000:08:02.0","id":"hostdev1","bus":"pci.2",
# "addr":"0x0"}: vfio 0000:08:02.0: group 17 used in multiple address spaces'
check "QEMU's own error: vfio $edu_peer: group $group used in multiple address spaces, as vfiomap said" \
        expect_match "$err" "vfio $edu_peer: group $group used in multiple address spaces"
chmod +x "$hook"
check_daemon_logged_no_error
exit 0
