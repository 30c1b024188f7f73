#!/bin/sh
# Runs inside the test guest for check-daemon-hotplug.sh: starts a private system bus and vfiomapd on the
# guest's real /sys and udev (guest-bus.sh), tells the host it is ready, then, while the host plugs devices
# in and out over QMP, waits for vfiomapd's DeviceAdded and DeviceRemoved signals and writes what vfiomapd
# and the kernel said at each of them into OUT_DIR. The host does all the checking.
#
# usage: guest-daemon-hotplug.sh OUT_DIR
#   OUT_DIR/ready            vfiomapd owns its name and its uevent monitor runs: the host may plug
#   OUT_DIR/addedN           (N = 1, 2: the Nth DeviceAdded) "signal ADDRESS OBJECT", "kernel-group G" (the
#                            device's iommu_group as the kernel shows it then), "kernel-groups G...";
#                            written after addedN-device.json (busctl get-property of the Device object's
#                            IommuGroup and Driver), addedN-group.json (ReservedRegions and Devices of
#                            /org/vfiomap1/group/G) and addedN-describe.json (the Manager's Describe())
#   OUT_DIR/removed1         "signal ADDRESS OBJECT", "kernel-groups G..." right after the DeviceRemoved,
#                            "kernel-groups-later G..." once the device's old group directory is gone
#                            too (it can linger briefly); after removed1-describe.json (Describe() right
#                            after the signal) and removed1-later-describe.json (once the group is gone)
#   OUT_DIR/signals.json, OUT_DIR/daemon.log   at the end: every signal recorded, vfiomapd's log
# Exit status: 0; 1 when the daemon did not start, 2 when a DeviceAdded, 3 when a DeviceRemoved did not come
# within 60 s.
set -u

OUT=${1:?usage: guest-daemon-hotplug.sh OUT_DIR}
# shellcheck source=tests/vm/guest-bus.sh
. "$(dirname "$0")/guest-bus.sh"

trap guest_bus_stop EXIT

device_added() { # N
        wait_for_signal DeviceAdded "$1" 60 || exit 2
        # shellcheck disable=SC2046 # "ADDRESS OBJECT": two words
        set -- "$1" $(nth_signal DeviceAdded "$1")
        group=$(kernel_group_of "$2")
        "$BUSCTL" --json=short get-property org.vfiomap1 "$3" org.vfiomap1.Device IommuGroup Driver \
                >"$OUT/added$1-device.json"
        "$BUSCTL" --json=short get-property org.vfiomap1 "/org/vfiomap1/group/$group" org.vfiomap1.Group \
                ReservedRegions Devices >"$OUT/added$1-group.json"
        describe "added$1-describe.json" && publish "added$1-describe.json"
        {
                echo "signal $2 $3"
                echo "kernel-group $group"
                echo "kernel-groups $(kernel_groups)"
        } >"$OUT/added$1.new"
        publish "added$1"
}

group_gone() { [ ! -e "/sys/kernel/iommu_groups/$1" ]; }

device_removed() { # N GROUP
        wait_for_signal DeviceRemoved "$1" 60 || exit 3
        describe "removed$1-describe.json" && publish "removed$1-describe.json"
        {
                echo "signal $(nth_signal DeviceRemoved "$1")"
                echo "kernel-groups $(kernel_groups)"
        } >"$OUT/removed$1.new"
        wait_until 10 group_gone "$2"
        describe "removed$1-later-describe.json" && publish "removed$1-later-describe.json"
        echo "kernel-groups-later $(kernel_groups)" >>"$OUT/removed$1.new"
        publish "removed$1"
}

guest_bus_start || exit 1
echo ready >"$OUT/ready"

device_added 1
first_group=$group
device_removed 1 "$first_group"
device_added 2
exit 0
