#!/bin/sh
# Runs inside the test guest for check-daemon-vfio.sh: vfiomapd on a private system bus (guest-bus.sh) binds
# a real IOMMU group to vfio-pci through `vfiomapctl bind-vfio`, a machine claims it, a nested QEMU opens
# /dev/vfio/N, and `vfiomapctl unbind` gives the device back. Writes what happened into OUT_DIR; the host
# does all the checking. No step stops the others: a failure shows in the files.
#
# usage: guest-daemon-vfio.sh PORT OUT_DIR   (PORT: a root port with one device below it: 0000:00:02.0)
#   OUT_DIR/vfio.txt    "KEY VALUE" lines, in this order:
#     device BDF, group N, driver-before NAME|-          the device below PORT and its iommu_group
#     module-at-start yes|no                             vfio-pci was loaded before vfiomapd started
#     unloaded-bind-status S, driver-after-refusal NAME|- `vfiomapctl bind-vfio group N` without vfio-pci
#                                                        loaded (only when it was not): must fail, change
#                                                        nothing; then `modprobe vfio-pci`, as
#                                                        vfiomapd.service's ExecStartPre= does
#     bind-status S                                      exit status of `vfiomapctl bind-vfio group N`
#     model-vfio-pci yes|no                              vfiomapd announced Driver "vfio-pci" within 20 s
#     driver-after-bind NAME|-, node-after-bind yes|no   sysfs and /dev/vfio/N then
#     claim-status S                                     `vfiomapctl --json claim nested SPEC` (the device
#                                                        only; 10 is a layout verdict "warning")
#     qemu-pid P, qemu-opened yes|no, qemu-alive yes|no  a nested QEMU with -device vfio-pci,host=BDF, -S;
#                                                        whether /dev/vfio/N showed in its fds within 90 s
#     unbind-claimed-status S                            `vfiomapctl unbind group N` while claimed
#     release-status S, unbind-status S                  `vfiomapctl release`, then `unbind group N`
#     model-driver-back yes|no                           vfiomapd announced the old driver within 30 s
#     driver-after-unbind NAME|-, node-after-unbind yes|no
#   JSON (busctl --json=short), one object a line for several properties:
#     bind-group.json      Group N: Viable Devices Blockers, once the model shows vfio-pci
#     claim-group.json     Group N: Owner
#     claim.json           the layout Claim returned
#     users-group.json     Group N: Users; users-machine.json: Machine nested: Users; users-describe.json
#     users-after.json     Group N: Users, then Machine: Users, once QEMU was killed and waited for
#     unbind-group.json    Group N: Viable Blockers, once the model shows the old driver
#   unloaded-bind.out, bind.out, unbind-claimed.out, unbind.out, qemu.log: the commands' output
set -u

port=/sys/bus/pci/devices/${1:?usage: guest-daemon-vfio.sh PORT OUT_DIR}
OUT=${2:?usage: guest-daemon-vfio.sh PORT OUT_DIR}
# shellcheck source=tests/vm/guest-bus.sh
. "$(dirname "$0")/guest-bus.sh"

machine=nested
qemu_pid=
report=$OUT/vfio.txt

stop() {
        if [ -n "$qemu_pid" ]; then
                kill "$qemu_pid" 2>/dev/null
                wait "$qemu_pid" 2>/dev/null
        fi
        guest_bus_stop
}
trap stop EXIT

say() { echo "$*" >>"$report"; }

yes_no() { if "$@"; then echo yes; else echo no; fi; }

driver_of() { # BDF: the bound driver's name, "-" when unbound
        _d=$(cd -P "/sys/bus/pci/devices/$1/driver" 2>/dev/null && pwd) || _d=-
        echo "${_d##*/}"
}

node_exists() { [ -e "/dev/vfio/$group" ]; }

# Whether QEMU holds /dev/vfio/N open: one `ls` a poll, not one readlink per descriptor.
qemu_holds_node() {
        case "$(ls -l "/proc/$qemu_pid/fd" 2>/dev/null)" in *" /dev/vfio/$group"*) return 0 ;; esac
        return 1
}
qemu_running() { # a zombie is not: kill -0 would say it is
        _state=Z
        read -r _ _ _state _ 2>/dev/null <"/proc/$qemu_pid/stat"
        [ "$_state" != Z ]
}
qemu_opened_or_died() { qemu_holds_node || ! qemu_running; }

machine_users() {
        "$BUSCTL" --json=short get-property org.vfiomap1 "/org/vfiomap1/machine/$machine" \
                org.vfiomap1.Machine Users
}

group_props() { # FILE PROPERTY...
        _file=$1
        shift
        "$BUSCTL" --json=short get-property org.vfiomap1 "/org/vfiomap1/group/$group" org.vfiomap1.Group \
                "$@" >"$OUT/$_file" 2>&1
}

: >"$report"
# The slot's device is function 0 on the port's secondary bus (pci_bus/DDDD:BB).
for bus in "$port"/pci_bus/*; do
        bdf=${bus##*/}:00.0
done
group=$(kernel_group_of "$bdf")
driver_before=$(driver_of "$bdf")
say "device $bdf"
say "group $group"
say "driver-before $driver_before"

guest_bus_start || exit 1

# ---- bind ----
if [ -d /sys/bus/pci/drivers/vfio-pci ]; then
        say "module-at-start yes"
else
        say "module-at-start no"
        status=0
        "$VFIOMAPCTL" bind-vfio group "$group" >"$OUT/unloaded-bind.out" 2>&1 || status=$?
        say "unloaded-bind-status $status"
        say "driver-after-refusal $(driver_of "$bdf")"
        /sbin/modprobe -abq vfio-pci
fi
status=0
"$VFIOMAPCTL" bind-vfio group "$group" >"$OUT/bind.out" 2>&1 || status=$?
say "bind-status $status"
say "model-vfio-pci $(yes_no wait_for_text '"Driver":{"type":"s","data":"vfio-pci"}' 1 20)"
say "driver-after-bind $(driver_of "$bdf")"
say "node-after-bind $(yes_no node_exists)"
group_props bind-group.json Viable Devices Blockers

# ---- claim, and a QEMU that opens the group ----
printf '{"name": "%s", "machine": "pc-q35-7.2", "memory": "64M", "hostdevs": ["%s"]}\n' "$machine" "$bdf" \
        >"$guest_tmp/spec.json"
status=0
"$VFIOMAPCTL" --json=short claim "$machine" "$guest_tmp/spec.json" >"$OUT/claim.json" 2>&1 || status=$?
say "claim-status $status"
group_props claim-group.json Owner

# -S: QEMU realizes the device (opens the group and the container, maps guest RAM) and waits, paused.
qemu-system-x86_64 -machine q35 -accel tcg -m 64 -S -nodefaults -display none -monitor none \
        -device "vfio-pci,host=$bdf" </dev/null >"$OUT/qemu.log" 2>&1 &
qemu_pid=$!
say "qemu-pid $qemu_pid"
wait_until 90 qemu_opened_or_died
say "qemu-opened $(yes_no qemu_holds_node)"
say "qemu-alive $(yes_no qemu_running)"
group_props users-group.json Users
machine_users >"$OUT/users-machine.json" 2>&1
describe users-describe.json && publish users-describe.json

status=0
"$VFIOMAPCTL" unbind group "$group" >"$OUT/unbind-claimed.out" 2>&1 || status=$?
say "unbind-claimed-status $status"

# QEMU exits on SIGTERM; run-guest's timeout bounds this wait.
kill "$qemu_pid" 2>/dev/null
wait "$qemu_pid" 2>/dev/null
qemu_pid=
group_props users-after.json Users
machine_users >>"$OUT/users-after.json" 2>&1

# ---- give it back ----
status=0
"$VFIOMAPCTL" release "$machine" >/dev/null 2>&1 || status=$?
say "release-status $status"
status=0
"$VFIOMAPCTL" unbind group "$group" >"$OUT/unbind.out" 2>&1 || status=$?
say "unbind-status $status"
if [ "$driver_before" != - ]; then
        back="\"Driver\":{\"type\":\"s\",\"data\":\"$driver_before\"}"
        say "model-driver-back $(yes_no wait_for_text "$back" 1 30)"
else
        say "model-driver-back yes"
fi
say "driver-after-unbind $(driver_of "$bdf")"
say "node-after-unbind $(yes_no node_exists)"
group_props unbind-group.json Viable Blockers
exit 0
