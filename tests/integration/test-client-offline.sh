#!/bin/sh
# vfiomapctl --root on every sample host: tables, JSON, errors, and the snapshot round trip.
set -u
. "$top_srcdir/tests/lib.sh"

ctl=$VFIOMAPCTL
hosts=$(find "$top_srcdir/tests/hosts" -mindepth 2 -maxdepth 2 -name sys -type d | sort)
[ -n "$hosts" ] || skip_all "no sample hosts under tests/hosts"

for sys in $hosts; do
        root=${sys%/sys}
        name=${root##*/}

        for verb in devices groups iommu; do
                ok "$name: $verb prints a table" sh -c "'$ctl' --root '$root' $verb >'$tmp/out' 2>'$tmp/err' && [ -s '$tmp/out' ] && [ ! -s '$tmp/err' ]"
                ok "$name: $verb --json is valid JSON" sh -c "'$ctl' --root '$root' $verb --json=short | jq -e . >/dev/null"
        done
        # Every entry is either modelled or named in a warning as ignored (vanished, looping link).
        n_dev=$(ls "$root/sys/bus/pci/devices" | wc -l)
        n_ignored=$("$ctl" --root "$root" devices | grep -c "device ignored$")
        is "$(( $("$ctl" --root "$root" devices --json=short | jq length) + n_ignored ))" "$n_dev" \
                "$name: every sys/bus/pci/devices entry is a JSON device or an ignored-device warning"
        n_grp=$(ls "$root/sys/kernel/iommu_groups" 2>/dev/null | wc -l)
        is "$("$ctl" --root "$root" groups --json=short | jq length)" "$n_grp" "$name: one JSON group per iommu_groups entry"
        summary=$("$ctl" --root "$root" groups | tail -n +1 | grep -E '^[0-9]+ groups? listed\.$' || true)
        is "$summary" "$n_grp group$([ "$n_grp" -eq 1 ] || echo s) listed." "$name: groups table ends with its count"

        # Every device and group can be shown alone.
        first_dev=$(ls "$root/sys/bus/pci/devices" | head -n 1)
        ok "$name: device $first_dev" sh -c "'$ctl' --root '$root' device $first_dev >/dev/null"
        first_grp=$(ls "$root/sys/kernel/iommu_groups" 2>/dev/null | sort -n | head -n 1)
        if [ -n "$first_grp" ]; then
                ok "$name: group $first_grp" sh -c "'$ctl' --root '$root' group $first_grp >/dev/null"
        fi

        # The snapshot holds what the model needs: replaying it gives the same JSON.
        rm -rf "$tmp/snap"
        ok "$name: snapshot into a directory" sh -c "'$ctl' --root '$root' snapshot '$tmp/snap' 2>/dev/null"
        for verb in devices groups iommu; do
                ok "$name: snapshot replays $verb identically" sh -c "'$ctl' --root '$root' $verb --json >'$tmp/a' && '$ctl' --root '$tmp/snap' $verb --json >'$tmp/b' && cmp -s '$tmp/a' '$tmp/b'"
        done
done

# One tarball round trip is enough: the copy logic is shared.
root=$(echo "$hosts" | head -n 1)
root=${root%/sys}
ok "snapshot into a .tar.gz" sh -c "'$ctl' --root '$root' snapshot '$tmp/s.tar.gz' 2>/dev/null && mkdir '$tmp/x' && tar -C '$tmp/x' -xzf '$tmp/s.tar.gz'"
ok "the tarball replays identically" sh -c "'$ctl' --root '$root' groups --json >'$tmp/a' && '$ctl' --root '$tmp/x' groups --json >'$tmp/b' && cmp -s '$tmp/a' '$tmp/b'"
ok "snapshot refuses a non-empty directory" sh -c "! '$ctl' --root '$root' snapshot '$tmp/x' 2>'$tmp/err' && grep -q 'not empty' '$tmp/err'"

# /dev/vfio users come with their process name (/proc/PID/comm of the tree).
is "$("$ctl" --root "$top_srcdir/tests/hosts/intel-client" group 2 | grep '^VFIO:')" \
        "VFIO: /dev/vfio/2, open by PID 4242 (qemu-system-x86)" "intel-client: group 2 names the process beside its PID"
is "$("$ctl" --root "$top_srcdir/tests/hosts/intel-client" group 2 --json=short | jq -c '[.vfio_users, .vfio_processes]')" \
        '[[4242],[{"pid":4242,"comm":"qemu-system-x86"}]]' "intel-client: vfio_users kept, vfio_processes added"

# Errors: named, with the right exit status.
"$ctl" --root "$root" device 0000:ff:1f.7 >/dev/null 2>"$tmp/err"
is "$?" 1 "unknown device: exit 1"
ok "unknown device: the message names it" grep -q "0000:ff:1f.7" "$tmp/err"
# A bad PCI address: one parser and one message in every verb that takes one, before any bus is asked.
want='"01:00" is not a PCI address (DDDD:BB:SS.F, or BB:SS.F as lspci prints it).'
for cmd in "--root $root device" "bind-vfio" "unbind" "check-hotplug vm"; do
        DBUS_SYSTEM_BUS_ADDRESS=unix:path=$tmp/no-bus "$ctl" $cmd 01:00 >/dev/null 2>"$tmp/err"
        is "$?" 1 "$cmd 01:00: exit 1"
        is "$(cat "$tmp/err")" "vfiomapctl: $want" "$cmd 01:00: the one message for a bad address"
done
printf '{"machine": "q35", "memory": "4G", "hostdevs": ["01:00"]}' >"$tmp/bad-address.json"
"$ctl" --root "$root" layout "$tmp/bad-address.json" >/dev/null 2>"$tmp/err"
ok "layout: a spec's bad address gets the same message" grep -qF "\"hostdevs[0]\": ${want%.}" "$tmp/err"
"$ctl" --root "$root" device 01:00.0 >/dev/null 2>"$tmp/err"
ok "lspci's short form is accepted" sh -c "! grep -q 'is not a PCI address' '$tmp/err'"
"$ctl" --root "$root" group 99999 >/dev/null 2>"$tmp/err"
is "$?" 1 "unknown group: exit 1"
ok "unknown group: the message names it" grep -q "99999" "$tmp/err"
"$ctl" --root "$root" group abc >/dev/null 2>&1
is "$?" 1 "bad group number: exit 1"
"$ctl" --root "$root" frobnicate >/dev/null 2>&1
is "$?" 2 "unknown command: exit 2"
"$ctl" --root "$root" devices extra >/dev/null 2>&1
is "$?" 2 "too many arguments: exit 2"
"$ctl" --json=yaml --root "$root" devices >/dev/null 2>&1
is "$?" 2 "bad --json mode: exit 2"
"$ctl" --root "$tmp/does-not-exist" devices >/dev/null 2>"$tmp/err"
is "$?" 1 "missing root: exit 1"
ok "missing root: the message names the directory" grep -q "does-not-exist" "$tmp/err"
ok "--help lists every command" sh -c "'$ctl' --help | grep -q snapshot && '$ctl' --help | grep -q layout"
ok "--version" sh -c "'$ctl' --version | grep -q vfiomap"

done_testing
