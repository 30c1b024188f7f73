#!/bin/bash
# TAP. vfiomapd binds a real IOMMU group to vfio-pci inside the test guest (one boot, --drivers udev): the
# e1000e below root port rp1, alone in its group. Through the client, as a user would: `vfiomapctl
# bind-vfio group N` makes the group viable and /dev/vfio/N appear, a claim names the device, a nested
# QEMU (TCG, -S) opens /dev/vfio/N and vfiomapd shows its PID as the group's and the machine's user, the
# group cannot be given back while claimed, and `vfiomapctl unbind` gives the device back to e1000e. The
# guest side is guest-daemon-vfio.sh; everything is checked here, on the host, from what it wrote.
set -euo pipefail

# shellcheck source=tests/vm/lib.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/vm/lib.sh"

vm_require_tools
if ! have_vfiomapctl || [ ! -x "${VFIOMAPD:-}" ]; then
        echo "1..0 # SKIP VFIOMAPD and VFIOMAPCTL must name the built programs (make check sets them)"
        exit 0
fi
BUSCTL=${BUSCTL:-$(command -v busctl || true)}
DBUS_DAEMON=${DBUS_DAEMON:-$(command -v dbus-daemon || true)}
if [ ! -x "$BUSCTL" ] || [ ! -x "$DBUS_DAEMON" ]; then
        echo "1..0 # SKIP busctl or dbus-daemon missing (tools/install-deps.sh installs them)"
        exit 0
fi

# rp1 (00:02.0) has one e1000e below it, alone in its group (tests/vm/README.md).
port_bdf=0000:00:02.0
machine=nested

# VFIOMAP_VM_KEEP=DIR keeps what the guest wrote in DIR.
if [ -n "${VFIOMAP_VM_KEEP:-}" ]; then
        work=$VFIOMAP_VM_KEEP
        rm -rf "$work/out"
        mkdir -p "$work"
else
        work=$(mktemp -d "${TMPDIR:-/tmp}/check-daemon-vfio.XXXXXX")
fi
out=$work/out
mkdir -p "$out"
trap '[ -n "${VFIOMAP_VM_KEEP:-}" ] || rm -rf "$work"' EXIT

value() { # KEY: the value of the "KEY value" line of vfio.txt
        awk -v k="$1" '$1 == k { $1 = ""; print substr($0, 2) }' "$out/vfio.txt"
}

# The data of the Nth (0-based) object of a busctl --json=short file, compact.
data() { # FILE N
        jq -sc ".[$2].data" "$out/$1" 2>&1
}

status=0
# 180 s: a nested QEMU starting under TCG inside TCG takes 5-20 s on a loaded machine.
"$run_guest" --out "$out" --drivers udev --timeout 180 \
        --env "VFIOMAPD=$VFIOMAPD" --env "VFIOMAPCTL=$VFIOMAPCTL" --env "BUSCTL=$BUSCTL" \
        --env "DBUS_DAEMON=$DBUS_DAEMON" \
        -- sh "$vm_dir/guest-daemon-vfio.sh" "$port_bdf" /mnt/out >"$work/guest.log" 2>&1 || status=$?
if [ "$status" = 0 ] && [ -s "$out/vfio.txt" ]; then
        tap_ok "the guest ran vfiomapd, bound, claimed, ran QEMU and gave the device back"
else
        tap_not_ok \
                "the guest ran vfiomapd, bound, claimed, ran QEMU and gave the device back (status $status)"
        tap_diag <"$work/guest.log"
        [ ! -f "$out/daemon.log" ] || tap_diag <"$out/daemon.log"
        [ -s "$out/vfio.txt" ] || { tap_finish; exit 1; }
fi
tap_diag <"$out/vfio.txt"

bdf=$(value device)
group=$(value group)
driver_before=$(value driver-before)
qemu_pid=$(value qemu-pid)
check "the device below $port_bdf has an IOMMU group" test "$group" != -
check "it was bound to e1000e at boot" expect_equal "$driver_before" e1000e

# ---- bind-vfio ----
if [ "$(value module-at-start)" = no ]; then
        check "bind-vfio without vfio-pci loaded fails" test "$(value unloaded-bind-status)" != 0
        tap_diag <"$out/unloaded-bind.out"
        check "the message says to load vfio-pci" grep -q 'modprobe vfio-pci' "$out/unloaded-bind.out"
        check "and the device stayed on e1000e" expect_equal "$(value driver-after-refusal)" e1000e
else
        tap_skip "bind-vfio without vfio-pci loaded fails" "the guest kernel had vfio-pci loaded at boot"
fi
check "vfiomapctl bind-vfio group $group exits 0" expect_equal "$(value bind-status)" 0
tap_diag <"$out/bind.out"
check "it reports $bdf: e1000e -> vfio-pci" grep -qx "$bdf: e1000e -> vfio-pci" "$out/bind.out"
check "the kernel bound $bdf to vfio-pci" expect_equal "$(value driver-after-bind)" vfio-pci
check "/dev/vfio/$group appeared" expect_equal "$(value node-after-bind)" yes
check "vfiomapd announced Driver vfio-pci (PropertiesChanged)" expect_equal "$(value model-vfio-pci)" yes
check "Group $group: Viable, no blockers" expect_equal \
        "$(data bind-group.json 0) $(data bind-group.json 2)" "true []"
check "Group $group: its one device" expect_equal "$(data bind-group.json 1)" "[\"$bdf\"]"

# ---- claim and a user ----
# 10: the layout's verdict is "warning" (a 64 MiB VM on a 39-bit IOMMU may have notes); the claim holds.
check "vfiomapctl claim $machine (the device only) succeeds" \
        grep -qx '0\|10' <<<"$(value claim-status)"
jq -r '"layout verdict: \(.verdict)", (.problems // [] | .[] | tostring)' "$out/claim.json" 2>&1 | tap_diag
check "Group $group: Owner $machine" expect_equal "$(data claim-group.json 0)" "\"$machine\""
check "the nested QEMU opened /dev/vfio/$group" expect_equal "$(value qemu-opened)" yes
check "the nested QEMU kept running (-S)" expect_equal "$(value qemu-alive)" yes
[ "$(value qemu-opened) $(value qemu-alive)" = "yes yes" ] || tap_diag <"$out/qemu.log"
check "Group $group: Users is the QEMU's PID ($qemu_pid)" expect_equal \
        "$(data users-group.json 0)" "[$qemu_pid]"
check "Machine $machine: Users is (group $group, the QEMU's PID)" expect_equal \
        "$(data users-machine.json 0)" "[[$group,$qemu_pid]]"
# comm: the kernel's 15-byte process name (TASK_COMM_LEN), read from /proc/PID/comm.
check "Describe(): the group's vfio_node ($group) and vfio_users, the machine's users with their names" \
        expect_equal "$(jq -r '.data[0]' "$out/users-describe.json" | jq -c --argjson g "$group" \
                '[(.groups[] | select(.group == $g) | .vfio_node, .vfio_users), (.machines[].users)]')" \
        "[\"$group\",[$qemu_pid],[{\"group\":$group,\"pid\":$qemu_pid,\"comm\":\"qemu-system-x86\"}]]"
check "unbind is refused while $machine claims the group" expect_equal \
        "$(value unbind-claimed-status) $(grep -c "claimed by machine $machine" "$out/unbind-claimed.out")" \
        "1 1"
check "no user once QEMU is gone" expect_equal \
        "$(data users-after.json 0) $(data users-after.json 1)" "[] []"

# ---- unbind ----
check "vfiomapctl release, then unbind group $group, exit 0" expect_equal \
        "$(value release-status) $(value unbind-status)" "0 0"
tap_diag <"$out/unbind.out"
check "it reports $bdf: vfio-pci -> e1000e" grep -qx "$bdf: vfio-pci -> e1000e" "$out/unbind.out"
check "the kernel bound $bdf to e1000e again" expect_equal "$(value driver-after-unbind)" e1000e
check "/dev/vfio/$group is gone" expect_equal "$(value node-after-unbind)" no
check "vfiomapd announced Driver e1000e (PropertiesChanged)" expect_equal "$(value model-driver-back)" yes
check "Group $group: not viable, e1000e blocks it" expect_equal \
        "$(data unbind-group.json 0) $(data unbind-group.json 1)" "false [[\"$bdf\",\"e1000e\"]]"
tap_finish
