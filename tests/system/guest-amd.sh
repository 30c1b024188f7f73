#!/bin/bash
# Guest side of check-amd.sh: the installed service on a host with an emulated AMD-Vi instead of VT-d
# (run-guest --variant amd): the IOMMU is itself a PCI function in no group, every group has the
# HyperTransport hole as a reserved region. Prints TAP lines (guest-lib.sh).
set -u
# shellcheck source=tests/system/guest-lib.sh
. "$(dirname "$0")/guest-lib.sh"

nic=0000:01:00.0 # e1000e below root port rp1, alone in its group

wait_until 60 systemctl is-active --quiet vfiomapd
check "vfiomapd.service is active after boot, with AMD-Vi" expect_equal \
        "$(systemctl is-active vfiomapd) $(unit_property vfiomapd NRestarts)" "active 0"
check "vfiomapctl iommu (from the service) names the AMD unit" \
        expect_match "$(vfiomapctl iommu 2>&1)" 'ivhd0'
check "vfiomapctl groups (from the service) equals vfiomapctl --root / groups" \
        expect_equal "$(vfiomapctl groups 2>&1)" "$(vfiomapctl --root / groups 2>&1)"
check "vfiomapctl iommu (from the service) equals vfiomapctl --root / iommu" \
        expect_equal "$(vfiomapctl iommu 2>&1)" "$(vfiomapctl --root / iommu 2>&1)"
group=$(group_of "$nic")
check "group $group has the HyperTransport hole as a reserved region, as the kernel says" expect_match \
        "$(vfiomapctl --json=short group "$group" 2>&1)" '"0xfd00000000"|"0x000000fd00000000"'
cat "/sys/kernel/iommu_groups/$group/reserved_regions" | diag
check_bind_unbind "$nic"
check_daemon_logged_no_error
journalctl -b --no-pager -o short-monotonic >/mnt/out/journal.txt
exit 0
