#!/bin/sh
# Runs inside the test guest for check-qmp-hotplug.sh: tells the host it is ready, then watches the slot
# below root port PORT while the host plugs a device in and out over QMP, and writes what the kernel showed
# at each step into OUT_DIR. Files appear atomically (written, then renamed), so the host may poll them.
#
# usage: guest-watch-hotplug.sh PORT OUT_DIR        (PORT: the root port's BDF, e.g. 0000:00:05.0)
#   OUT_DIR/ready     written first: the host may plug now
#   OUT_DIR/added     "device BDF", "group N" (iommu_group at the first sight of the device), "driver NAME"
#                     (after waiting up to 20 s for a bind), then the group's reserved_regions and members
#   OUT_DIR/removed   "gone BDF", then the group directories left right after the removal
# Exit status: 0, or 2 when the device did not appear within 60 s, 3 when it did not go within 60 s.
set -u

port=/sys/bus/pci/devices/${1:?usage: guest-watch-hotplug.sh PORT OUT_DIR}
out=${2:?usage: guest-watch-hotplug.sh PORT OUT_DIR}

publish() { # NAME: OUT_DIR/NAME.new -> OUT_DIR/NAME
        mv "$out/$1.new" "$out/$1"
}

# 50 ms polls; coreutils sleep takes fractions. Each poll costs a process, which is fine at this rate.
wait_until() { # SECONDS TEST...
        tries=$(($1 * 20))
        shift
        while ! "$@"; do
                tries=$((tries - 1))
                [ "$tries" -gt 0 ] || return 1
                sleep 0.05
        done
}

device_present() { [ -e "$dev" ]; }
device_absent() { [ ! -e "$dev" ]; }
driver_bound() { [ -e "$dev/driver" ]; }

# The slot's device is function 0 on the port's secondary bus (pci_bus/DDDD:BB).
for bus in "$port"/pci_bus/*; do
        dev=/sys/bus/pci/devices/${bus##*/}:00.0
done
bdf=${dev##*/}

echo ready >"$out/ready"

wait_until 60 device_present || exit 2
group=$(cd -P "$dev/iommu_group" 2>/dev/null && pwd)
group=${group##*/}
{
        echo "device $bdf"
        echo "group ${group:--}"
} >"$out/added.new"
driver=-
if wait_until 20 driver_bound; then
        driver=$(cd -P "$dev/driver" && pwd)
        driver=${driver##*/}
fi
{
        echo "driver $driver"
        if [ -n "$group" ]; then
                sed 's/^/region /' "/sys/kernel/iommu_groups/$group/reserved_regions"
                for member in "/sys/kernel/iommu_groups/$group/devices"/*; do
                        echo "member ${member##*/}"
                done
        fi
} >>"$out/added.new"
publish added

wait_until 60 device_absent || exit 3
{
        echo "gone $bdf"
        for left in /sys/kernel/iommu_groups/*; do
                echo "group-left ${left##*/}"
        done
} >"$out/removed.new"
publish removed
