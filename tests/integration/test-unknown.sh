#!/bin/sh
# Unknown is shown as unknown: a copy of the intel-client sample whose files cannot be read, in ways that
# stop root too (CI runs as root, and chmod 000 does not stop root): a regular file where a device directory
# should be, a directory where reserved_regions should be, a group link to a group that is not there. And
# the warnings a non-root reader gets for every device, counted in one line. TAP.
set -u
. "$top_srcdir/tests/lib.sh"

ctl=$VFIOMAPCTL
hosts=$top_srcdir/tests/hosts
[ -x "$ctl" ] || skip_all "vfiomapctl is not built"
command -v jq >/dev/null || skip_all "jq is not installed"

# ---- an unreadable device directory ----
root=$tmp/host
cp -a "$hosts/intel-client" "$root"
# 01:00.1 (the GPU's audio function, group 2 with the GPU on vfio-pci and its pcieport root port).
dir=$(readlink -f "$root/sys/bus/pci/devices/0000:01:00.1")
rm -rf "$dir"
echo "not a directory" >"$dir"
# Prove the damage stops this reader (root included): a file below it cannot be opened.
ok "the damage stops this reader" sh -c "! cat '$dir/vendor' 2>/dev/null"

"$ctl" --root "$root" devices --json=short >"$tmp/devices.json"
is "$(jq -c '.[] | select(.address == "0000:01:00.1") | [.vendor, .device, .class, .driver_known]' "$tmp/devices.json")" \
        '[null,null,null,false]' "unreadable device: ids and class null, driver unknown in JSON"
is "$(jq -c '.[] | select(.address == "0000:01:00.1") | .group' "$tmp/devices.json")" 2 \
        "unreadable device: its group from the group listing it"
is "$(jq -c '.[] | select(.address == "0000:01:00.0") | [.vendor, .driver_known]' "$tmp/devices.json")" \
        '["0x10de",true]' "a readable device keeps its facts"
"$ctl" --root "$root" devices >"$tmp/out"
ok "devices table: unknown id, class and driver" grep -Eq '^0000:01:00.1 +unknown +- +unknown +unknown ' "$tmp/out"
ok "devices table: never 0000:0000" sh -c "! grep -q '0000:0000' '$tmp/out'"
is "$(grep -c '^warning: device 0000:01:00.1: ' "$tmp/out")" 1 "unreadable device: one warning, not one per file"
ok "unreadable device: the warning says what is unknown" \
        grep -q '0000:01:00.1 is not a directory: ids, class, driver, IOMMU group, BARs and config space unknown' "$tmp/out"

is "$("$ctl" --root "$root" groups --json=short | jq -c '.[] | select(.group == 2) | .viable')" null \
        "group of the unreadable device: viable is null"
"$ctl" --root "$root" groups >"$tmp/out"
ok "groups table: viability unknown, member's driver unknown" \
        grep -Eq '^2 .* unknown .*0000:01:00.1\(unknown\)' "$tmp/out"
"$ctl" --root "$root" group 2 >"$tmp/out"
ok "group 2: Viable: unknown" grep -q 'Viable: unknown' "$tmp/out"
ok "group 2: the member is not shown as unbound" sh -c "! grep -q '0000:01:00.1.*(unbound)' '$tmp/out'"
ok "group 2: the member's driver is unknown" grep -q '0000:01:00.1 unknown unknown (driver unknown)' "$tmp/out"

# A member known to be bound to a host driver decides: not viable, whatever else is unknown.
ln -sfn ../../../../bus/pci/drivers/snd_hda_intel "$(readlink -f "$root/sys/bus/pci/devices/0000:01:00.0")/driver"
is "$("$ctl" --root "$root" groups --json=short | jq -c '.[] | select(.group == 2) | .viable')" false \
        "a known blocker makes the group not viable"

# ---- unreadable reserved_regions ----
root=$tmp/host2
cp -a "$hosts/intel-client" "$root"
rm "$root/sys/kernel/iommu_groups/2/reserved_regions"
mkdir "$root/sys/kernel/iommu_groups/2/reserved_regions"
is "$("$ctl" --root "$root" groups --json=short | jq -c '.[] | select(.group == 2) | .reserved_regions')" null \
        "unreadable reserved_regions: null in JSON"
"$ctl" --root "$root" group 2 >"$tmp/out"
ok "group 2: reserved regions unknown, not (none)" grep -q 'unknown: reserved_regions could not be read' "$tmp/out"
ok "group 2: never (none)" sh -c "! grep -q '(none)' '$tmp/out'"
"$ctl" --root "$root" groups >"$tmp/out"
ok "groups table: regions unknown" grep -Eq '^2 +DMA-FQ +dmar1 +yes +unknown ' "$tmp/out"

"$ctl" --root "$root" layout "$top_srcdir/tests/layout/cli/intel-gpu.xml" >"$tmp/out" 2>"$tmp/err"
is "$?" 10 "layout: a group with unknown regions is no ok verdict (exit 10)"
ok "layout: the problem is named" grep -q 'reserved-regions-unknown' "$tmp/out"
ok "layout: the host model's warning is printed" \
        grep -q '^warning: group 2: cannot read sys/kernel/iommu_groups/2/reserved_regions' "$tmp/out"
"$ctl" --root "$root" layout --json=short "$top_srcdir/tests/layout/cli/intel-gpu.xml" >"$tmp/out" 2>"$tmp/err"
ok "layout --json: JSON on stdout" sh -c "jq -e '.verdict == \"warning\"' '$tmp/out' >/dev/null"
ok "layout --json: the host model's warning on stderr" grep -q 'reserved_regions' "$tmp/err"

# ---- a group link to a group that is not there ----
root=$tmp/host3
cp -a "$hosts/intel-client" "$root"
rm -r "$root/sys/kernel/iommu_groups/2"
"$ctl" --root "$root" layout "$top_srcdir/tests/layout/cli/intel-gpu.xml" >"$tmp/out" 2>"$tmp/err"
is "$?" 11 "missing group: error verdict"
ok "missing group: not blamed on the IOMMU being off" sh -c "! grep -q 'IOMMU is off' '$tmp/out'"
ok "missing group: says the tree does not hold the group" grep -q 'names IOMMU group 2, which' "$tmp/out"

# No group directory at all, though the devices' links name groups: not "the IOMMU is off" either.
rm -r "$root/sys/kernel/iommu_groups" "$root/sys/class/iommu"
"$ctl" --root "$root" groups >"$tmp/out" 2>"$tmp/err"
ok "no group directories: not blamed on the IOMMU being off" sh -c "! grep -q 'IOMMU is off' '$tmp/out'"
ok "no group directories: says the devices name groups" grep -q 'devices name IOMMU groups' "$tmp/out"
# A tree whose devices name no group at all still gets the hint.
"$ctl" --root "$hosts/no-iommu" groups >"$tmp/out" 2>"$tmp/err"
ok "no IOMMU: the hint stays" grep -q 'IOMMU is off or absent' "$tmp/out"

# ---- a non-root reader's warnings: one line, not two per device ----
"$ctl" --root "$hosts/nonroot-view" devices >"$tmp/out"
n_dev=$(jq length <<EOF
$("$ctl" --root "$hosts/nonroot-view" devices --json=short)
EOF
)
is "$(grep -c '^warning' "$tmp/out")" 1 "non-root view: one warning line"
ok "non-root view: it counts the files and devices" \
        grep -q "^warning: 15 files need root: config space beyond 64 bytes of 7 devices (ACS unknown), the BAR and window ranges of 7 devices, the ranges of /proc/iomem" "$tmp/out"
ok "non-root view: the JSON still lists every warning" \
        test "$("$ctl" --root "$hosts/nonroot-view" devices --json=short | jq '[.[].warnings[]] | length')" -eq 14
ok "non-root view: $n_dev devices listed" grep -q "^$n_dev devices listed" "$tmp/out"
"$ctl" --root "$hosts/nonroot-view" device 00:02.0 >"$tmp/out"
ok "non-root view: one device shows its own warnings in full" grep -q 'CAP_SYS_ADMIN' "$tmp/out"

done_testing
