#!/bin/bash
# TAP. The kernel's own word on IOMMU groups, reserved regions and IOMMU units, from a real Linux guest
# (tests/vm/run-guest: QEMU q35 with intel-iommu, then with amd-iommu), checked against the kernel's
# grouping rules, and vfiomapctl --root / inside the same guest checked against the kernel (facts.sh).
#
# Devices are found by vendor:device, never by a BDF, so a change of run-guest's topology that keeps the
# device kinds keeps this test meaningful. The ids (QEMU's hw/ and the kernel's pci_ids.h):
#   1b36:000c QEMU PCIe root port      104c:8232 XIO3130 upstream port   104c:8233 XIO3130 downstream port
#   1b36:000e QEMU PCIe-to-PCI bridge  8086:2918 ICH9 LPC                8086:10d3 e1000e   8086:100e e1000
#   1234:11e8 QEMU edu (no driver)
set -euo pipefail

# shellcheck source=tests/vm/lib.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/vm/lib.sh"
# shellcheck source=tests/vm/facts.sh
. "$vm_dir/facts.sh"

vm_require_tools

# VFIOMAP_VM_KEEP=DIR keeps what the guests wrote in DIR (to debug a failure, or to look at a real kernel);
# with VFIOMAP_VM_REUSE=1 as well, a guest whose files are already in DIR is not booted again.
if [ -n "${VFIOMAP_VM_KEEP:-}" ]; then
        work=$VFIOMAP_VM_KEEP
        mkdir -p "$work"
else
        work=$(mktemp -d "${TMPDIR:-/tmp}/check-guest-kernel.XXXXXX")
        trap 'rm -rf "$work"' EXIT
fi

# --- Boots -----------------------------------------------------------------------------------------------

boot_and_collect() {
        local dir=$1
        shift
        local -a env=()
        ! have_vfiomapctl || env=(--env "VFIOMAPCTL=$VFIOMAPCTL")
        if [ "${VFIOMAP_VM_REUSE:-0}" = 1 ] && [ -s "$dir/devices.txt" ]; then
                echo "# reusing $dir"
                return 0
        fi
        "$run_guest" --out "$dir" "${env[@]}" "$@" -- sh "$vm_dir/collect-guest-facts.sh" /mnt/out \
                >"$dir.log" 2>&1
}

check_intel_guest() {
        local dir=$work/intel
        mkdir -p "$dir"
        if ! boot_and_collect "$dir" --variant intel; then
                tap_not_ok "intel: guest booted and collected its facts"
                tap_diag <"$dir.log"
                return 0
        fi
        tap_ok "intel: guest booted and collected its facts"

        check "intel: dmar0 cap is QEMU 7.2's with caching mode" \
                expect_equal "$(iommu_attr "$dir" dmar0 cap)" d2008c22260286
        check "intel: dmar0 MGAW from cap is 39" dmar_width_is "$dir" 39
        check "intel: dmar0 caching mode (cap bit 7)" dmar_bit_set "$dir" cap 7
        check "intel: dmar0 ecap is f00f4a" expect_equal "$(iommu_attr "$dir" dmar0 ecap)" f00f4a
        check "intel: dmar0 interrupt remapping (ecap bit 3)" dmar_bit_set "$dir" ecap 3
        check "intel: every device is served by dmar0" every_device_behind "$dir" dmar0
        check "intel: every group has 0xfee00000-0xfeefffff msi" \
                every_group_has_region "$dir" 0x00000000fee00000 0x00000000feefffff msi
        check "intel: the ICH9 LPC group has 0x0-0xffffff direct-relaxable" \
                group_of_has_region "$dir" "$(bdfs_with_ids "$dir" 8086 2918)" \
                "0x0000000000000000 0x0000000000ffffff direct-relaxable"
        check "intel: the ICH9 functions share one group (multifunction, no ACS)" ich9_functions_share_a_group "$dir"
        check "intel: each switch downstream port shares a group with its device only" \
                switch_ports_share_with_their_device "$dir"
        check "intel: the switch upstream port is alone" \
                group_is "$dir" "$(bdfs_with_ids "$dir" 104c 8232)" "$(bdfs_with_ids "$dir" 104c 8232)"
        check "intel: the pcie-pci-bridge, its e1000 and its edu share one group (requester-ID alias)" \
                pci_bridge_shares_with_everything_behind_it "$dir"
        check "intel: root ports (ACS) and the devices below them are alone" root_port_children_are_alone "$dir"
        check "intel: e1000e devices are bound to e1000e" drivers_are "$dir" 8086 10d3 e1000e
        check "intel: the e1000 is bound to e1000" drivers_are "$dir" 8086 100e e1000
        check "intel: edu devices are unbound" drivers_are "$dir" 1234 11e8 -
        check "intel: lspci -vmm -k lists the same devices and drivers" lspci_agrees_on_drivers "$dir"

        check_vfiomapctl "$dir" intel intel
        ! have_vfiomapctl || check_vfiomapctl_reasons "$dir" intel
}

check_amd_guest() {
        local dir=$work/amd
        mkdir -p "$dir"
        # No drivers: this boot is about the AMD IOMMU's regions, and it is ~2 s shorter so.
        if ! boot_and_collect "$dir" --variant amd --drivers none; then
                tap_not_ok "amd: guest booted and collected its facts"
                tap_diag <"$dir.log"
                return 0
        fi
        tap_ok "amd: guest booted and collected its facts"
        check "amd: ivhd0 is the IOMMU unit" expect_equal "$(awk '{ print $1 }' "$dir/iommu.txt" | sort -u)" ivhd0
        check "amd: every group has 0xfee00000-0xfeefffff msi" \
                every_group_has_region "$dir" 0x00000000fee00000 0x00000000feefffff msi
        check "amd: every group has the HyperTransport hole 0xfd00000000-0xffffffffff reserved" \
                every_group_has_region "$dir" 0x000000fd00000000 0x000000ffffffffff reserved
        check "amd: same groups as with intel-iommu" \
                diff -u --label intel --label amd <(kernel_group_members "$work/intel" | cut -d' ' -f2- | sort) \
                        <(kernel_group_members "$dir" | cut -d' ' -f2- | sort)
        check_vfiomapctl "$dir" amd amd
        ! have_vfiomapctl || check_vfiomapctl_reasons "$dir" amd
}

check_intel_guest
check_amd_guest
tap_finish
