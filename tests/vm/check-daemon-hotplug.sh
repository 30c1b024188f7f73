#!/bin/bash
# TAP. vfiomapd inside the test guest follows real PCIe hotplug driven from the host over QMP (one boot,
# --drivers udev). The guest (guest-daemon-hotplug.sh) runs vfiomapd on a private system bus and records its
# signals; the host plugs an e1000e into free root port hp1, unplugs it, and plugs one into hp2, where the
# kernel gives it the group number the first one freed. What is checked is what a unit test cannot show:
# the order and timing of a real kernel's uevents (the group exists at "add", the driver binds later, the
# group directory can outlive its device briefly) and vfiomapd's model after each of them.
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

# run-guest's free root ports (tests/vm/README.md): hp1 at 00:05.0, hp2 at 00:06.0.
first_port=hp1 first_port_bdf=0000:00:05.0
second_port=hp2 second_port_bdf=0000:00:06.0
msi='[4276092928,4277141503,"msi"]' # 0xfee00000-0xfeefffff msi, as busctl --json prints a(tts)

# VFIOMAP_VM_KEEP=DIR keeps what the guest wrote (signals, vfiomapd's log, every Describe()) in DIR.
if [ -n "${VFIOMAP_VM_KEEP:-}" ]; then
        work=$VFIOMAP_VM_KEEP
        rm -rf "$work/out"
        mkdir -p "$work"
else
        work=$(mktemp -d "${TMPDIR:-/tmp}/check-daemon-hotplug.XXXXXX")
fi
out=$work/out
socket=$work/qmp.sock
guest_pid=
mkdir -p "$out"

cleanup() {
        # run-guest stops its QEMU when it is terminated.
        if [ -n "$guest_pid" ] && kill -0 "$guest_pid" 2>/dev/null; then
                kill "$guest_pid" 2>/dev/null || true
                wait "$guest_pid" 2>/dev/null || true
        fi
        [ -n "${VFIOMAP_VM_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

field() { # FILE KEY: the value of the "KEY value..." line
        awk -v k="$2" '$1 == k { $1 = ""; print substr($0, 2) }' "$1"
}

# The group numbers of a "kernel-groups" line, or of Describe(), in numeric order on one line.
kernel_groups() { field "$1" "$2" | tr ' ' '\n' | sort -n | paste -sd' '; }
describe_groups() { jq -r '.groups[].group' | sort -n | paste -sd' '; }

guest_failed() {
        tap_not_ok "$1"
        kill "$guest_pid" 2>/dev/null || true
        wait "$guest_pid" 2>/dev/null || true
        guest_pid=
        tap_diag <"$work/guest.log"
        [ ! -f "$out/daemon.log" ] || { echo "vfiomapd's log:"; cat "$out/daemon.log"; } | tap_diag
        tap_finish
        exit 1
}

# sd_bus_path_encode(): every byte but [A-Za-z0-9] as _xx, and a leading digit too.
path_encode() {
        local s=$1 encoded='' i c
        for ((i = 0; i < ${#s}; i++)); do
                c=${s:i:1}
                if [[ $c == [A-Za-z] || ($c == [0-9] && $i -gt 0) ]]; then
                        encoded+=$c
                else
                        encoded+=$(printf '_%02x' "'$c")
                fi
        done
        printf '%s' "$encoded"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Describe()'s JSON out of busctl's {"type":"s","data":["..."]}.
describe_of() { jq -r '.data[0]' "$out/$1-describe.json"; }

plug() { # ID PORT
        local reply
        if reply=$("$qmp" "$socket" device_add \
                "{\"driver\":\"e1000e\",\"id\":\"$1\",\"bus\":\"$2\",\"romfile\":\"\"}" 2>&1); then
                check "device_add of an e1000e on $2 returns {}" expect_equal "$reply" "{}"
        else
                guest_failed "device_add of an e1000e on $2: $reply"
        fi
}

# check_added N PORT_BDF: the Nth DeviceAdded, against the kernel and vfiomapd's objects.
check_added() {
        local n=$1 port_bdf=$2 started=$3 address object group describe
        wait_for_file "$out/added$n" "$guest_pid" 60 ||
                guest_failed "vfiomapd announced device $n (DeviceAdded)"
        echo "# DeviceAdded and the guest's report $(($(now_ms) - started)) ms after device_add"
        tap_ok "vfiomapd announced device $n (DeviceAdded)"
        tap_diag <"$out/added$n"
        read -r address object < <(field "$out/added$n" signal)
        group=$(field "$out/added$n" kernel-group)
        describe=$(describe_of "added$n")
        check "DeviceAdded $n names the e1000e below $port_bdf" expect_equal \
                "$(jq -r --arg a "$address" \
                        '.devices[] | select(.address == $a) | "\(.parent) \(.vendor):\(.device)"' \
                        <<<"$describe")" \
                "$port_bdf 0x8086:0x10d3"
        check "DeviceAdded $n carries the device's object path" expect_equal "$object" \
                "/org/vfiomap1/device/$(path_encode "$address")"
        check "the kernel gave device $n an IOMMU group at its add" test "$group" != -
        check "Device.IommuGroup of device $n is the kernel's iommu_group ($group)" expect_equal \
                "$(jq -sc '.[0].data' "$out/added$n-device.json")" "$group"
        check "group $group's object lists device $n alone" expect_equal \
                "$(jq -sc '.[1].data' "$out/added$n-group.json")" "[\"$address\"]"
        check "group $group's object has the msi region" expect_equal \
                "$(jq -sc '.[0].data' "$out/added$n-group.json")" "[$msi]"
        check "Describe(): device $n in group $group, group $group has it alone" expect_equal \
                "$(jq -c --arg a "$address" --argjson g "$group" \
                        '[(.devices[] | select(.address == $a) | .group),
                          (.groups[] | select(.group == $g) | .devices)]' \
                        <<<"$describe")" "[$group,[\"$address\"]]"
        check "Describe(): the same groups as the kernel" expect_equal \
                "$(describe_groups <<<"$describe")" "$(kernel_groups "$out/added$n" kernel-groups)"
        added_address=$address added_group=$group
}

"$run_guest" --qmp "$socket" --out "$out" --drivers udev --timeout 180 \
        --env "VFIOMAPD=$VFIOMAPD" --env "VFIOMAPCTL=$VFIOMAPCTL" --env "BUSCTL=$BUSCTL" \
        --env "DBUS_DAEMON=$DBUS_DAEMON" \
        -- sh "$vm_dir/guest-daemon-hotplug.sh" /mnt/out >"$work/guest.log" 2>&1 &
guest_pid=$!

# Generous: another test's guest may hold the boot lock first.
wait_for_file "$out/ready" "$guest_pid" 600 ||
        guest_failed "vfiomapd runs in the guest on a private system bus"
tap_ok "vfiomapd runs in the guest on a private system bus"

# ---- a device appears ----
started=$(now_ms)
plug hp-nic1 "$first_port"
check_added 1 "$first_port_bdf" "$started"
first_address=$added_address first_group=$added_group

# ---- and goes ----
started=$(now_ms)
if event=$("$qmp" --wait-event DEVICE_DELETED --event-match '"hp-nic1"' "$socket" device_del \
        '{"id":"hp-nic1"}' 2>&1); then
        check "device_del completes with DEVICE_DELETED" grep -q '"event": *"DEVICE_DELETED"' <<<"$event"
else
        guest_failed "device_del completes with DEVICE_DELETED: $event"
fi
wait_for_file "$out/removed1" "$guest_pid" 60 ||
        guest_failed "vfiomapd announced the removal (DeviceRemoved)"
echo "# DeviceRemoved and the guest's report $(($(now_ms) - started)) ms after device_del"
tap_ok "vfiomapd announced the removal (DeviceRemoved)"
tap_diag <"$out/removed1"
check "DeviceRemoved names the device DeviceAdded did" expect_equal \
        "$(field "$out/removed1" signal | cut -d' ' -f1)" "$first_address"
describe=$(describe_of removed1)
check "Describe() right after DeviceRemoved: the device is gone" expect_equal \
        "$(jq --arg a "$first_address" '[.devices[] | select(.address == $a)] | length' <<<"$describe")" 0
check "Describe() right after DeviceRemoved: no group lists it" expect_equal \
        "$(jq --arg a "$first_address" '[.groups[] | select(.devices | index($a))] | length' \
                <<<"$describe")" 0
describe=$(describe_of removed1-later)
check "Describe() once the kernel dropped group $first_group: the same groups as the kernel" expect_equal \
        "$(describe_groups <<<"$describe")" "$(kernel_groups "$out/removed1" kernel-groups-later)"

# ---- another device, in the group number the first one freed ----
started=$(now_ms)
plug hp-nic2 "$second_port"
check_added 2 "$second_port_bdf" "$started"
# The IOMMU core numbers groups with an IDA (drivers/iommu/iommu.c, iommu_group_alloc()): the lowest free
# number, the one just freed. Without the reuse this part would test nothing more than the first add.
check "the kernel reused group $first_group for the device on $second_port" \
        expect_equal "$added_group" "$first_group"
check "the second device has its own address" test "$added_address" != "$first_address"

guest_status=0
wait "$guest_pid" || guest_status=$?
guest_pid=
if [ "$guest_status" = 0 ]; then
        tap_ok "the guest command exited 0 and the guest powered off"
else
        tap_not_ok "the guest command exited 0 and the guest powered off (status $guest_status)"
        tap_diag <"$work/guest.log"
        [ ! -f "$out/daemon.log" ] || tap_diag <"$out/daemon.log"
fi
tap_finish
