#!/bin/sh
# lspci's vendor and device names, and the revision, in the device tables and as optional JSON fields.
# Under --root the tree's own pci.ids is used when it has one (a pci.ids written here, with names no real
# file has); otherwise this host's. Names from this host's pci.ids are compared with what lspci, which
# shares no code with vfiomapctl, reads from the same file and the same tree. TAP.
set -u
. "$top_srcdir/tests/lib.sh"

ctl=$VFIOMAPCTL
hosts=$top_srcdir/tests/hosts
[ -x "$ctl" ] || skip_all "vfiomapctl is not built"
command -v jq >/dev/null || skip_all "jq is not installed"

root=$tmp/host
cp -a "$hosts/intel-client" "$root"
mkdir -p "$root/usr/share/misc"
printf '%s\n' "# a pci.ids of the tree's own" \
        "10de  Tree Vendor NV" \
        "	2206  Tree GPU" \
        "		10de 1467  Tree subsystem, not a device" \
        "8086  Tree Vendor Intel" \
        "	4680  Tree iGPU" \
        "C 03  Display controller" \
        "	00  VGA compatible controller" >"$root/usr/share/misc/pci.ids"

"$ctl" --root "$root" devices --json=short >"$tmp/devices.json"
is "$(jq -c '.[] | select(.address == "0000:01:00.0") | [.vendor_name, .device_name, .revision]' "$tmp/devices.json")" \
        '["Tree Vendor NV","Tree GPU","0xa1"]' "tree's pci.ids: names and revision of the GPU in JSON"
is "$(jq -c '.[] | select(.address == "0000:01:00.1") | [.vendor_name, has("device_name")]' "$tmp/devices.json")" \
        '["Tree Vendor NV",false]' "tree's pci.ids: a device it does not list has no device_name"
is "$(jq -c '[.[] | select(.vendor == "0x144d")] | map(has("vendor_name")) | unique' "$tmp/devices.json")" \
        '[false]' "tree's pci.ids: a vendor it does not list has no vendor_name"
"$ctl" --root "$root" devices >"$tmp/out"
ok "table: header with REV and NAME" grep -Eq '^ADDRESS +ID +REV +CLASS +DRIVER +GROUP +IOMMU +PARENT +RESET +NAME$' "$tmp/out"
ok "table: the GPU's revision and names" grep -Eq '^0000:01:00.0 +10de:2206 +a1 .* Tree Vendor NV Tree GPU$' "$tmp/out"
ok "table: vendor known, device not: lspci's 'Device dddd'" grep -Eq '^0000:01:00.1 .* Tree Vendor NV Device 1aef$' "$tmp/out"
ok "table: neither known: no name" grep -Eq '^0000:03:00.0 .*0000:00:1d.0 +[^ ]+ +-$' "$tmp/out"
"$ctl" --root "$root" device 00:02.0 >"$tmp/out"
ok "device: the name line" grep -q '^         Name: Tree Vendor Intel Tree iGPU$' "$tmp/out"
ok "device: the revision" grep -q '^           ID: 8086:4680 (subsystem 1043:8882), rev 0c$' "$tmp/out"
is "$("$ctl" --root "$root" device 00:02.0 --json=short | jq -r .device_name)" "Tree iGPU" "device --json: the name"

# A pci.ids that is no pci.ids (binary junk) gives no names and no failure.
head -c 4096 /dev/urandom >"$root/usr/share/misc/pci.ids"
"$ctl" --root "$root" devices >"$tmp/out" 2>"$tmp/err"
is "$?" 0 "junk pci.ids: devices still works"
ok "junk pci.ids: the tables still list every device" grep -q '^17 devices listed' "$tmp/out"

# ---- this host's pci.ids, checked against lspci ----
lspci=${LSPCI:-$(command -v lspci || true)}
ids=
for f in /usr/share/misc/pci.ids /usr/share/hwdata/pci.ids; do
        [ -r "$f" ] && { ids=$f; break; }
done
if [ -n "$lspci" ] && [ -x "$lspci" ] && [ -n "$ids" ]; then
        for name in intel-client amd-server; do
                # lspci -mm: address "class" "vendor" "device" [-rREV] ...: no -r for revision 0. lspci
                # prints "Device dddd" for an unknown device, which is what the table shows too.
                "$lspci" -A linux-sysfs -O sysfs.path="$hosts/$name/sys/bus/pci" -i "$ids" -mm -D 2>/dev/null |
                        sed -n -e 's/^\([^ ]*\) "[^"]*" "\([^"]*\)" "\([^"]*\)" -r\([0-9a-f]*\).*/\1 \4 \2 \3/p' -e t \
                               -e 's/^\([^ ]*\) "[^"]*" "\([^"]*\)" "\([^"]*\)".*/\1 00 \2 \3/p' |
                        sort >"$tmp/lspci"
                "$ctl" --root "$hosts/$name" devices --no-legend 2>/dev/null |
                        awk '$1 ~ /^[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:/ { a = $1; r = $3; $1 = $2 = $3 = $4 = $5 = $6 = $7 = $8 = $9 = "";
                                                    sub(/^ +/, ""); print a, r, $0 }' | sort >"$tmp/ours"
                ok "$name: names and revisions as lspci reads them from $ids" cmp -s "$tmp/lspci" "$tmp/ours"
                [ -s "$tmp/lspci" ] || echo "# lspci printed nothing"
                cmp -s "$tmp/lspci" "$tmp/ours" || diff "$tmp/lspci" "$tmp/ours" | sed 's/^/# /' | head -10
        done
fi

done_testing
