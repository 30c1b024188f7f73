#!/bin/sh
# What --root accepts: the directory holding sys/, proc/ and dev/. A directory without a sysfs (empty, or
# the sys/ directory itself) is refused with a message saying so, never read as a host without IOMMU. TAP.
set -u
. "$top_srcdir/tests/lib.sh"

ctl=$VFIOMAPCTL
hosts=$top_srcdir/tests/hosts
[ -x "$ctl" ] || skip_all "vfiomapctl is not built"

# ---- a directory that holds no sysfs ----
mkdir "$tmp/empty"
for verb in devices groups iommu; do
        "$ctl" --root "$tmp/empty" $verb >"$tmp/out" 2>"$tmp/err"
        is "$?" 1 "empty directory: $verb exits 1"
        ok "empty directory: $verb says the root holds no sysfs" grep -q "holds no sysfs: there is no $tmp/empty/sys/bus/pci" "$tmp/err"
        ok "empty directory: $verb does not blame the IOMMU" sh -c "! grep -q 'IOMMU is off' '$tmp/out' '$tmp/err'"
done
"$ctl" --root "$tmp/empty" layout "$top_srcdir/tests/layout/cli/intel-gpu.xml" >"$tmp/out" 2>"$tmp/err"
is "$?" 1 "empty directory: layout exits 1"
ok "empty directory: layout says the root holds no sysfs" grep -q "holds no sysfs" "$tmp/err"

# ---- ROOT/sys: the parent is meant ----
"$ctl" --root "$hosts/intel-client/sys" groups >"$tmp/out" 2>"$tmp/err"
is "$?" 1 "ROOT/sys: exits 1"
ok "ROOT/sys: suggests the parent" grep -q "is a sysfs tree itself, not the root above one: use --root=$hosts/intel-client\.$" "$tmp/err"
"$ctl" --root "$hosts/intel-client/sys/" groups >"$tmp/out" 2>"$tmp/err"
ok "ROOT/sys/: the same, trailing slash or not" grep -q "use --root=$hosts/intel-client\.$" "$tmp/err"
(cd "$hosts/intel-client" && "$ctl" --root sys groups) >"$tmp/out" 2>"$tmp/err"
ok "sys relative to the current directory: suggests ." grep -q "use --root=\.\.$" "$tmp/err"

# ---- what still works ----
ok "a sample host still reads" sh -c "'$ctl' --root '$hosts/intel-client' groups >/dev/null"
# A host without PCI still has sys/bus (an arm64 board): no sysfs error, the model says there is no PCI bus.
mkdir -p "$tmp/nopci/sys/bus/platform"
"$ctl" --root "$tmp/nopci" devices >"$tmp/out" 2>"$tmp/err"
is "$?" 0 "sysfs without PCI: read, exit 0"
ok "sysfs without PCI: says there is no PCI bus" grep -q "no PCI bus" "$tmp/out"

done_testing
