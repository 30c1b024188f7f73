#!/bin/sh
# vfiomapctl layout end to end on the sample hosts (tests/hosts/*.host built with mkhost): the exit status
# carries the verdict, --json follows proto/layout-json.md, --svg draws a picture rsvg-convert can render,
# and bad input is refused with a message. TAP.
set -u
. "$top_srcdir/tests/lib.sh"

MKHOST="$top_builddir/tests/mkhost"
cases="$top_srcdir/tests/layout/cli"
[ -x "$VFIOMAPCTL" ] || skip_all "vfiomapctl is not built"
[ -x "$MKHOST" ] || skip_all "tests/mkhost is not built"

for h in intel-client amd-server workstation; do
        "$MKHOST" "$top_srcdir/tests/hosts/$h.host" "$tmp/$h" >/dev/null || skip_all "mkhost cannot build $h"
done

layout() {
        # layout ROOT ARGS...: runs the client, keeps stdout and stderr, returns its exit status
        _root=$1
        shift
        "$VFIOMAPCTL" --root "$tmp/$_root" "$@" >"$tmp/out" 2>"$tmp/err"
}

# ---- exit statuses ----
layout intel-client layout "$cases/intel-gpu.xml"
is "$?" 0 "ok verdict: exit 0"
ok "the report starts with the verdict" grep -q '^Verdict: ok' "$tmp/out"
ok "the report draws the address map" grep -q 'IOMMU width 39 bits' "$tmp/out"

layout intel-client layout "$cases/intel-gpu-46.json"
is "$?" 10 "warning verdict: exit 10 (EXIT_VERDICT_WARNING)"
ok "the warning names the code" grep -q 'phys-bits-beyond-iommu-width' "$tmp/out"

layout amd-server layout "$cases/amd-gpu-big.xml"
is "$?" 11 "error verdict: exit 11 (EXIT_VERDICT_ERROR)"
ok "the error names the HT hole" grep -q 'amd-ht-hole' "$tmp/out"
ok "the error names the blocking member" grep -q '0000:03:00.0 is bound to amdgpu' "$tmp/out"

# The vCPU vendor follows the host under KVM, the model under TCG (QEMU's host_cpu_instance_init()).
layout amd-server layout "$cases/amd-skylake-big.xml"
ok "KVM: a named Intel model on the AMD host is AuthenticAMD" grep -q 'AuthenticAMD vCPU' "$tmp/out"
ok "KVM: QEMU moves the RAM past the HT hole, no amd-ht-hole error" sh -c "! grep -q '^  error   amd-ht-hole' '$tmp/out'"
ok "KVM: no advice to cut RAM" sh -c "! grep -q 'Give the guest at most' '$tmp/out'"
sed "s/type='kvm'/type='qemu'/" "$cases/amd-skylake-big.xml" >"$tmp/skylake-tcg.xml"
layout amd-server layout "$tmp/skylake-tcg.xml"
ok "TCG: the same model keeps GenuineIntel" grep -q 'GenuineIntel vCPU' "$tmp/out"
ok "TCG: the RAM crosses the HT hole" grep -q '^  error   amd-ht-hole' "$tmp/out"

# A device's own BAR in guest RAM: its DMA there goes nowhere, it is not "routed to the other device".
printf '%s\n' "<domain type='qemu'><name>big</name><memory unit='MiB'>501760</memory>" \
        "<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>" \
        "<hostdev mode='subsystem' type='pci'><source><address bus='1' slot='0' function='0'/></source></hostdev>" \
        "</devices></domain>" >"$tmp/own-bar.xml"
layout intel-client layout "$tmp/own-bar.xml"
tr '\n' ' ' <"$tmp/out" | sed 's/  */ /g' >"$tmp/out1"
ok "own BAR: the problem is reported" grep -q "0000:01:00.0's own BAR 1" "$tmp/out1"
ok "own BAR: its message does not speak of another device" \
        sh -c "! grep -q \"own BAR 1 (a DMA there never reaches the IOMMU): a DMA there is routed to the other device\" '$tmp/out1'"
ok "own BAR: it says the DMA misses the guest's RAM" grep -q "own BAR 1 (a DMA there never reaches the IOMMU): the device's DMA there never reaches the guest's RAM" "$tmp/out1"
ok "a peer's window is still routed to the other device" grep -q "prefetchable window of 0000:00:01.0 .* routed to the other device" "$tmp/out1"

# ---- apply: the smallest set of changes, through libvirt's test driver (in process, no daemon) ----
# node XML: the domains as libvirt's test:/// driver reads them.
{ echo "<node>"; grep -v -e '^<!--' -e '-->$' "$cases/amd-gpu-big.xml"; echo "</node>"; } >"$tmp/node-amd.xml"
LIBVIRT_DEFAULT_URI="test://$tmp/node-amd.xml" layout amd-server apply epyc-big-old --dry-run
r=$?
if grep -q 'neither a file nor a libvirt domain' "$tmp/err"; then
        echo "# libvirt's test driver is not available: apply not checked"
else
        is "$r" 11 "apply: the exit status is the new verdict (the group stays not viable)"
        ok "apply: the machine type changes" grep -q '^+ *<type arch="x86_64" machine="pc-q35-7.1">hvm</type>$' "$tmp/out"
        ok "apply: the RAM does not: the new machine type alone moves it past the HT hole" \
                sh -c "! grep -q '^[-+] *<memory' '$tmp/out'"
        ok "apply: the RAM cut is named as not applied" \
                grep -q '^Not applied, the changes above do without it: Give the guest at most 1010 GiB' "$tmp/out"
        ok "apply: host changes are still listed" grep -q '^Not applied, needs a change on the host: Unbind 0000:03:00.0' "$tmp/out"
        [ $? -eq 0 ] || sed 's/^/#   /' "$tmp/out" "$tmp/err"

        # 490 GiB under TCG on intel-client: less RAM (below the GPU's own BAR) and, once that fits, the
        # phys-bits limit make it ok; the 64-bit hole then needs no change.
        cat >"$tmp/node-intel.xml" <<EOF
<node><domain type='qemu'><name>big</name><memory unit='MiB'>501760</memory>
<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>
<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='1' slot='0' function='0'/></source></hostdev>
<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='1' slot='0' function='1'/></source></hostdev>
</devices></domain></node>
EOF
        LIBVIRT_DEFAULT_URI="test://$tmp/node-intel.xml" layout intel-client --json=short apply big --dry-run
        is "$?" 0 "apply big: the chosen changes make the verdict ok"
        if command -v jq >/dev/null; then
                is "$(jq -r '.applied | join(",")' "$tmp/out")" "reduce-memory,set-maxphysaddr" \
                        "apply big: less RAM and the phys-bits limit"
                is "$(jq -r '.new_verdict' "$tmp/out")" ok "apply big: new_verdict ok"
                is "$(jq -r '[.not_applied[].action] | join(",")' "$tmp/out")" "set-pcihole64" \
                        "apply big: the 64-bit hole's change is named as not applied"
        fi
        ok "apply big: the diff adds the phys-bits limit" grep -q 'maxphysaddr mode=\\"emulate\\" bits=\\"39\\"' "$tmp/out"
fi

# ---- standard input ----
layout intel-client layout - <"$cases/intel-gpu.xml"
is "$?" 0 "reads the domain XML from standard input"

# ---- --json ----
layout amd-server --json=short layout "$cases/amd-gpu-big.xml"
is "$?" 11 "--json keeps the verdict's exit status"
if command -v python3 >/dev/null; then
        ok "--json is one JSON object with the documented keys" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
for k in ("machine", "verdict", "problems", "ram", "mmio32", "mmio64", "excluded", "iommu_address_width",
          "recommendations"):
    assert k in j, k
assert j["verdict"] == "error"
codes = {p["code"] for p in j["problems"]}
assert {"ram-overlaps-reserved", "amd-ht-hole", "group-not-viable"} <= codes, codes
for p in j["problems"]:
    assert p["severity"] in ("info", "warning", "error") and p["message"]
assert j["ram"] == [{"start": "0x0", "end": "0x7fffffff"}, {"start": "0x100000000", "end": "0x1002fffffff"}], j["ram"]
for e in j["excluded"]:
    assert e["start"].startswith("0x") and e["start"] == e["start"].lower()
    assert int(e["start"], 16) <= int(e["end"], 16)
    assert e["kind"] in ("direct", "reserved", "msi", "peer-mmio", "iommu-width")
' "$tmp/out"
fi

# ---- --svg ----
layout amd-server --svg "$tmp/map.svg" layout "$cases/amd-gpu-big.xml"
is "$?" 11 "--svg keeps the verdict's exit status"
ok "--svg writes an SVG document" grep -q '</svg>' "$tmp/map.svg"
ok "--svg still prints the report" grep -q '^Verdict: error' "$tmp/out"
# The picture's header names the problems it has no room for, and no label lands on another.
ok "--svg: the header counts the problems it does not name" grep -q '>+1 more</text>' "$tmp/map.svg"
if command -v python3 >/dev/null; then
        for h in amd-server intel-client; do
                for f in "$cases/amd-gpu-big.xml" "$cases/intel-gpu.xml" "$tmp/own-bar.xml" "$top_srcdir/tests/layout/cases/intel-bar-above-39.xml"; do
                        "$VFIOMAPCTL" --root "$tmp/$h" --svg "$tmp/labels-$h-${f##*/}.svg" layout "$f" >/dev/null 2>&1
                done
        done
        ok "--svg: no two labels overlap, no conflict label on the hatching" \
                python3 "$top_srcdir/tests/layout/check-svg-labels.py" "$tmp"/labels-*.svg
fi
if [ -n "${RSVG_CONVERT:-}" ] && [ -x "$RSVG_CONVERT" ]; then
        ok "rsvg-convert renders the SVG" "$RSVG_CONVERT" -o "$tmp/map.png" "$tmp/map.svg"
        ok "the picture is a PNG of a real size" sh -c '
                [ "$(head -c 8 "$1" | od -An -tx1 | tr -d " \n")" = 89504e470d0a1a0a ] &&
                [ "$(wc -c <"$1")" -gt 10000 ]' sh "$tmp/map.png"
        if [ -n "${VFIOMAP_KEEP_PNG:-}" ]; then
                cp "$tmp/map.png" "$VFIOMAP_KEEP_PNG"
        fi
else
        echo "# rsvg-convert not found: SVG rendering not checked"
fi

# ---- issue 13, guest side, on a sysfs tree ----
# vIOMMU: the GPU and its audio function (group 2 of the sample) on two guest root ports.
layout intel-client layout "$top_srcdir/tests/layout/cases/intel-viommu-group-split.xml"
is "$?" 11 "vIOMMU, one group on two root ports: exit 11"
tr '\n' ' ' <"$tmp/out" | sed 's/  */ /g' >"$tmp/out1"
ok "the problem quotes QEMU" grep -q 'vfio 0000:01:00.1: group 2 used in multiple address spaces' "$tmp/out1"
ok "the fix is a pcie-to-pci-bridge" grep -q "<controller type='pci' index='3' model='pcie-to-pci-bridge'/>" "$tmp/out"
layout intel-client layout "$top_srcdir/tests/layout/cases/intel-viommu-group-bridge.xml"
is "$?" 0 "vIOMMU, the group behind one pcie-to-pci-bridge: exit 0"

# Resizable BAR read from the config space mkhost writes (rebar=BAR:SIZES), shown in the device JSON and
# reported by the layout.
sed 's/^\(device 01:00.0 .*\)$/\1 rebar=1:0xff00/' "$top_srcdir/tests/hosts/intel-client.host" >"$tmp/rebar.host"
if "$MKHOST" "$tmp/rebar.host" "$tmp/rebar" >/dev/null; then
        "$VFIOMAPCTL" --root "$tmp/rebar" devices --json >"$tmp/devices.json" 2>"$tmp/err"
        is "$?" 0 "devices --json on the ReBAR host"
        ok "the device JSON lists the Resizable BAR" python3 -c '
import json, sys
devs = json.load(open(sys.argv[1]))
devs = devs if isinstance(devs, list) else devs["devices"]
gpu = [d for d in devs if d["address"] == "0000:01:00.0"][0]
audio = [d for d in devs if d["address"] == "0000:01:00.1"][0]
assert gpu["rebar"] == [{"bar": 1, "current": 256 << 20, "sizes": [(256 << 20) << k for k in range(8)]}], gpu["rebar"]
assert audio["rebar"] is None
' "$tmp/devices.json"
        "$VFIOMAPCTL" --root "$tmp/rebar" layout "$cases/intel-gpu.xml" >"$tmp/out" 2>"$tmp/err"
        ok "the layout names the larger sizes" grep -q 'info    rebar-larger-sizes' "$tmp/out"
else
        ok "mkhost builds the ReBAR host" false
fi

# vfio_iommu_type1's dma_entry_limit from sysfs: in the host JSON, and what the layout counts against.
{ cat "$top_srcdir/tests/hosts/intel-client.host"; echo "dma-entry-limit 4096"; } >"$tmp/limit.host"
if "$MKHOST" "$tmp/limit.host" "$tmp/limit" >/dev/null; then
        "$VFIOMAPCTL" --root "$tmp/limit" iommu --json >"$tmp/iommu.json" 2>"$tmp/err"
        ok "iommu --json shows dma_entry_limit" python3 -c '
import json, sys
assert json.load(open(sys.argv[1]))["dma_entry_limit"] == 4096' "$tmp/iommu.json"
        "$VFIOMAPCTL" --root "$tmp/limit" layout "$top_srcdir/tests/layout/cases/intel-virtio-mem-8m-blocks.xml" \
                >"$tmp/out" 2>"$tmp/err"
        tr '\n' ' ' <"$tmp/out" | sed 's/  */ /g' >"$tmp/out1"
        ok "32768 virtio-mem blocks exceed a limit of 4096" grep -q "dma_entry_limit of 4096 per container" "$tmp/out1"
else
        ok "mkhost builds the host with dma-entry-limit" false
fi
"$VFIOMAPCTL" --root "$tmp/intel-client" iommu --json >"$tmp/iommu.json" 2>"$tmp/err"
ok "no parameter file: dma_entry_limit is null" python3 -c '
import json, sys
assert json.load(open(sys.argv[1]))["dma_entry_limit"] is None' "$tmp/iommu.json"

# ---- bad input ----
printf '<domain><name>x</name></domain>' >"$tmp/bad.xml"
layout intel-client layout "$tmp/bad.xml"
is "$?" 1 "a bad domain XML fails with exit 1"
ok "the message names the missing element" grep -q '<memory> is missing' "$tmp/err"

layout intel-client layout "$tmp/does-not-exist.xml"
is "$?" 1 "a missing file fails with exit 1"

head -c 5000000 /dev/zero | tr '\0' ' ' >"$tmp/huge.json"
layout intel-client layout "$tmp/huge.json"
is "$?" 1 "an oversized input is refused"
ok "the message says why" grep -q 'larger than' "$tmp/err"

# ---- the host-side pitfalls of issue 13 (tests/hosts/workstation): the problems, in order ----
layout workstation layout "$cases/workstation-pitfalls.xml" --json
is "$?" 11 "workstation pitfalls: error verdict"
jq -r '.problems[] | select(.code | test("reset|bar-claimed|boot-vga|rom|iommufd|cdev")) | "\(.severity) \(.code) \(.device)"' \
        "$tmp/out" >"$tmp/pitfalls"
ok "workstation pitfalls: the problems of workstation-pitfalls.expected" diff -u "$cases/workstation-pitfalls.expected" "$tmp/pitfalls"
[ -s "$tmp/pitfalls" ] && ! diff -q "$cases/workstation-pitfalls.expected" "$tmp/pitfalls" >/dev/null && sed 's/^/# /' "$tmp/pitfalls"
# The ROM file is probed below --root: there it exists, but it is no ROM.
sed "s|/usr/share/vgabios/rtx3060.rom|/usr/share/vgabios/nvflash.rom|" "$cases/workstation-pitfalls.xml" >"$tmp/nvflash.xml"
layout workstation layout "$tmp/nvflash.xml" --json
ok "a ROM file below --root without the 0x55 0xaa signature: rom-file-not-rom" \
        sh -c "jq -e '[.problems[].code] | index(\"rom-file-not-rom\") and (index(\"rom-file-unreadable\") | not)' '$tmp/out' >/dev/null"
layout workstation layout "$cases/workstation-pitfalls.xml"
ok "the report quotes the kernel's can't reserve" grep -q "BAR 1: can't reserve \[mem 0x4400000000-0x440fffffff 64bit" "$tmp/out"

done_testing
