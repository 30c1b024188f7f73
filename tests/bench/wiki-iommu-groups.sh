#!/bin/bash
# The loop users paste from the wikis to see their IOMMU groups (Arch wiki, "PCI passthrough via OVMF",
# "Ensuring that the groups are valid"; the same loop is on the Gentoo, Proxmox and Level1Techs pages),
# changed only to read a host tree: ROOT/sys instead of /sys, and lspci told to read ROOT's sysfs.
#   wiki-iommu-groups.sh ROOT
# tests/bench/run times it against vfiomapctl --root ROOT groups.
R=${1:?usage: wiki-iommu-groups.sh ROOT}
shopt -s nullglob
for g in $(find "$R"/sys/kernel/iommu_groups/* -maxdepth 0 -type d | sort -V); do
    echo "IOMMU Group ${g##*/}:"
    for d in "$g"/devices/*; do
        echo -e "\t$(lspci -A linux-sysfs -O sysfs.path="$R"/sys/bus/pci -nns "${d##*/}")"
    done
done
