#!/bin/sh
# Runs inside the test guest (tests/vm/run-guest): writes what the guest kernel itself says about its PCI
# devices, IOMMU groups and IOMMU units into OUT_DIR as flat text files the host-side tests parse, plus
# vfiomapctl's view of the same when VFIOMAPCTL names an executable. Few processes on purpose: each one
# costs ~35 ms in a TCG guest.
#
# usage: collect-guest-facts.sh OUT_DIR
# Files (one record a line, fields separated by one space; BDFs with the domain):
#   devices.txt    BDF VENDOR DEVICE CLASS DRIVER|- PARENT|- (ids as in sysfs: 0x8086 0x10d3 0x020000;
#                                                            PARENT: the upstream bridge in the sysfs path)
#   resources.txt  BDF INDEX START END FLAGS                 (resource lines that are not all zero)
#   groups.txt     GROUP BDF                                 (one line per member)
#   group-types.txt GROUP TYPE                               (the group's type file)
#   regions.txt    GROUP START END TYPE                      (reserved_regions, verbatim)
#   iommu.txt      UNIT FILE VALUE                           (dmarN/intel-iommu/*, ivhdN/amd-iommu/*)
#   unit-of.txt    BDF UNIT                                  (the BDF/iommu link)
#   bridges.txt    BDF SECONDARY_BUS                         (0000:05 for a bridge whose children are 05:xx.x)
#   lspci-vmm.txt  lspci -vmm -k -D;  lspci-vvv.txt  lspci -D -vvv (capabilities, ACS)
#   vfiomapctl-{groups,devices,iommu}.json and .status   (only with VFIOMAPCTL)
set -u

out=${1:?usage: collect-guest-facts.sh OUT_DIR}
sys=/sys

collect_devices() {
        : >"$out/devices.txt"
        : >"$out/resources.txt"
        : >"$out/unit-of.txt"
        : >"$out/bridges.txt"
        for dev in "$sys"/bus/pci/devices/*; do
                bdf=${dev##*/}
                read -r vendor <"$dev/vendor"
                read -r device <"$dev/device"
                read -r class <"$dev/class"
                driver=-
                if [ -e "$dev/driver" ]; then
                        driver=$(cd -P "$dev/driver" && pwd)
                        driver=${driver##*/}
                fi
                parent=$(cd -P "$dev/.." && pwd)
                parent=${parent##*/}
                case "$parent" in
                [0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f].[0-7]) ;;
                *) parent=- ;;
                esac
                echo "$bdf $vendor $device $class $driver $parent" >>"$out/devices.txt"
                index=0
                while read -r start end flags; do
                        if [ "$start $end $flags" != "0x0000000000000000 0x0000000000000000 0x0000000000000000" ]; then
                                echo "$bdf $index $start $end $flags" >>"$out/resources.txt"
                        fi
                        index=$((index + 1))
                done <"$dev/resource"
                for bus in "$dev"/pci_bus/*; do
                        [ -e "$bus" ] && echo "$bdf ${bus##*/}" >>"$out/bridges.txt"
                done
                # A link on a device an IOMMU serves; on the AMD IOMMU's own PCI function, a directory
                # holding its class device (iommu/ivhd0).
                if [ -L "$dev/iommu" ]; then
                        unit=$(cd -P "$dev/iommu" && pwd)
                        echo "$bdf ${unit##*/}" >>"$out/unit-of.txt"
                fi
        done
}

collect_groups() {
        : >"$out/groups.txt"
        : >"$out/regions.txt"
        : >"$out/group-types.txt"
        for group_dir in "$sys"/kernel/iommu_groups/*; do
                [ -d "$group_dir" ] || continue
                group=${group_dir##*/}
                for member in "$group_dir"/devices/*; do
                        [ -e "$member" ] && echo "$group ${member##*/}" >>"$out/groups.txt"
                done
                read -r type <"$group_dir/type" && echo "$group $type" >>"$out/group-types.txt"
                while read -r start end type; do
                        echo "$group $start $end $type" >>"$out/regions.txt"
                done <"$group_dir/reserved_regions"
        done
}

collect_iommu_units() {
        : >"$out/iommu.txt"
        for attr in "$sys"/class/iommu/*/intel-iommu/* "$sys"/class/iommu/*/amd-iommu/*; do
                [ -f "$attr" ] || continue
                read -r value <"$attr" || continue
                unit=${attr%/*}
                unit=${unit%/*}
                echo "${unit##*/} ${attr##*/} $value" >>"$out/iommu.txt"
        done
}

collect_lspci() {
        lspci -vmm -k -D >"$out/lspci-vmm.txt" 2>&1
        lspci -D -vvv >"$out/lspci-vvv.txt" 2>&1
}

collect_vfiomapctl() {
        [ -n "${VFIOMAPCTL:-}" ] && [ -x "$VFIOMAPCTL" ] || return 0
        for verb in groups devices iommu; do
                "$VFIOMAPCTL" --root / "$verb" --json >"$out/vfiomapctl-$verb.json" 2>"$out/vfiomapctl-$verb.stderr"
                echo $? >"$out/vfiomapctl-$verb.status"
        done
}

collect_devices
collect_groups
collect_iommu_units
collect_lspci
collect_vfiomapctl
