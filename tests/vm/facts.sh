# shellcheck shell=bash
# Sourced by tests/vm/ tests: what a guest's kernel said (the files collect-guest-facts.sh writes into a
# directory DIR), assertions on those facts, and the comparison of vfiomapctl's JSON documents
# (DIR/vfiomapctl-{groups,devices,iommu}.json, see proto/host-json.md) with them. Each check function
# prints what differs and returns non-zero; tests/vm/lib.sh's `check` turns that into a TAP line.
# Needs have_vfiomapctl, tap_skip and check from lib.sh.

# --- Reading what the guest wrote (files described in collect-guest-facts.sh) ---------------------------

bdfs_with_ids() { awk -v v="0x$2" -v d="0x$3" '$2 == v && $3 == d { print $1 }' "$1/devices.txt"; }
group_of() { awk -v b="$2" '$2 == b { print $1 }' "$1/groups.txt"; }
members_of() { awk -v g="$2" '$1 == g { print $2 }' "$1/groups.txt" | sort | xargs; }
all_groups() { awk '{ print $1 }' "$1/groups.txt" | sort -un; }
secondary_bus() { awk -v b="$2" '$1 == b { print $2 }' "$1/bridges.txt"; }
devices_on_bus() { awk -v p="$2:" 'index($1, p) == 1 { print $1 }' "$1/devices.txt"; }
driver_of() { awk -v b="$2" '$1 == b { print $5 }' "$1/devices.txt"; }
iommu_attr() { awk -v u="$2" -v a="$3" '$1 == u && $2 == a { print $3 }' "$1/iommu.txt"; }

# --- The kernel's facts ----------------------------------------------------------------------------------

every_group_has_region() {
        local dir=$1 start=$2 end=$3 type=$4 group missing=
        for group in $(all_groups "$dir"); do
                awk -v g="$group" -v s="$start" -v e="$end" -v t="$type" \
                        '$1 == g && $2 == s && $3 == e && $4 == t { found = 1 } END { exit !found }' \
                        "$dir/regions.txt" || missing="$missing $group"
        done
        [ -z "$missing" ] || { echo "groups without $start $end $type:$missing"; return 1; }
}

group_of_has_region() {
        local dir=$1 bdf=$2 region=$3 group
        group=$(group_of "$dir" "$bdf")
        awk -v g="$group" '$1 == g { $1 = ""; print substr($0, 2) }' "$dir/regions.txt" | grep -qxF "$region" ||
                { echo "group $group of $bdf:"; awk -v g="$group" '$1 == g' "$dir/regions.txt"; return 1; }
}

# The group of BDF holds exactly the devices named.
group_is() {
        local dir=$1 bdf=$2
        shift 2
        local group want
        group=$(group_of "$dir" "$bdf")
        [ -n "$group" ] || { echo "$bdf is in no group"; return 1; }
        want=$(printf '%s\n' "$@" | sort | xargs)
        expect_equal "$(members_of "$dir" "$group")" "$want"
}

# Rule 2 of pci_device_group(): below a port without ACS a device joins the port's group.
switch_ports_share_with_their_device() {
        local dir=$1 port count=0
        for port in $(bdfs_with_ids "$dir" 104c 8233); do
                # shellcheck disable=SC2046
                group_is "$dir" "$port" "$port" $(devices_on_bus "$dir" "$(secondary_bus "$dir" "$port")") || return 1
                count=$((count + 1))
        done
        expect_equal "$count downstream ports" "2 downstream ports"
}

# A PCIe-to-PCI bridge masks the requester ID of everything behind it to its own: one group for all.
pci_bridge_shares_with_everything_behind_it() {
        local dir=$1 bridge
        bridge=$(bdfs_with_ids "$dir" 1b36 000e)
        [ -n "$bridge" ] || { echo "no pcie-pci-bridge in the guest"; return 1; }
        # shellcheck disable=SC2046
        group_is "$dir" "$bridge" "$bridge" $(devices_on_bus "$dir" "$(secondary_bus "$dir" "$bridge")")
}

ich9_functions_share_a_group() {
        local dir=$1 lpc slot
        lpc=$(bdfs_with_ids "$dir" 8086 2918)
        slot=${lpc%.*}
        # shellcheck disable=SC2046
        group_is "$dir" "$lpc" $(awk -v s="$slot." 'index($1, s) == 1 { print $1 }' "$dir/devices.txt")
}

# QEMU's root ports implement ACS (hw/pci-bridge/pcie_root_port.c), so each device below one is alone, and
# the two functions of the multifunction pair are in two groups.
root_port_children_are_alone() {
        local dir=$1 port child
        for port in $(bdfs_with_ids "$dir" 1b36 000c); do
                for child in $(devices_on_bus "$dir" "$(secondary_bus "$dir" "$port")"); do
                        case "$(awk -v b="$child" '$1 == b { print $4 }' "$dir/devices.txt")" in
                        0x0604*) ;; # a bridge below: its own rules apply
                        *) group_is "$dir" "$child" "$child" || return 1 ;;
                        esac
                done
                group_is "$dir" "$port" "$port" || return 1
        done
}

# MGAW = ((cap >> 16) & 0x3f) + 1 (VT-d spec 11.4.2); caching mode is bit 7; interrupt remapping ecap bit 3.
dmar_width_is() {
        local cap
        cap=$(iommu_attr "$1" dmar0 cap)
        expect_equal "$(((0x$cap >> 16 & 0x3f) + 1))" "$2"
}

dmar_bit_set() {
        local value
        value=$(iommu_attr "$1" dmar0 "$2")
        [ $((0x$value >> $3 & 1)) = 1 ] || { echo "dmar0 $2 $value: bit $3 clear"; return 1; }
}

drivers_are() {
        local dir=$1 vendor=$2 device=$3 want=$4 bdf found=0
        for bdf in $(bdfs_with_ids "$dir" "$vendor" "$device"); do
                expect_equal "$bdf $(driver_of "$dir" "$bdf")" "$bdf $want" || return 1
                found=1
        done
        [ "$found" = 1 ] || { echo "no $vendor:$device in the guest"; return 1; }
}

# lspci -vmm -k lists the same devices with the same drivers as the sysfs walk.
lspci_agrees_on_drivers() {
        local dir=$1
        diff -u --label sysfs --label lspci <(awk '{ print $1, $5 }' "$dir/devices.txt" | sort) \
                <(awk -F'\t' '/^Slot:/ { if (s) print s, d; s = $2; d = "-" } /^Driver:/ { d = $2 }
                              END { if (s) print s, d }' "$dir/lspci-vmm.txt" | sort)
}

every_device_behind() {
        local dir=$1 unit=$2
        diff -u --label devices --label "behind $unit" <(awk '{ print $1 }' "$dir/devices.txt" | sort) \
                <(awk -v u="$unit" '$2 == u { print $1 }' "$dir/unit-of.txt" | sort)
}

# --- vfiomapctl against the kernel (documents: proto/host-json.md) ---------------------------------------

# jq helpers: hex strings (or numbers) to bare lower-case hex without leading zeros; the top-level array
# (or the array under KEY, should a document become an object).
jq_lib='
def hex: if type == "number" then [recurse(if . >= 16 then (. / 16 | floor) else empty end) | . % 16]
                                  | reverse | map("0123456789abcdef"[. : . + 1]) | add
         else ascii_downcase | ltrimstr("0x") | sub("^0+"; "") | if . == "" then "0" else . end end;
def items($key): if type == "object" then .[$key] else . end;
def text_hex: sub("^0x0*"; "") | if . == "" then "0" else . end;
def dash: if . == null or . == "" then "-" else tostring end;
'

# The text files as jq input: one array of fields per line.
jq_lines() {
        jq -rRn "$jq_lib"'inputs | split(" ") | '"$1" "$2"
}

vfiomapctl_ran() {
        local dir=$1 verb=$2
        [ -s "$dir/vfiomapctl-$verb.json" ] && [ "$(cat "$dir/vfiomapctl-$verb.status")" = 0 ] &&
                jq -e . "$dir/vfiomapctl-$verb.json" >/dev/null ||
                { echo "exit status $(cat "$dir/vfiomapctl-$verb.status" 2>/dev/null)";
                  cat "$dir/vfiomapctl-$verb.stderr" 2>/dev/null; head -c 2000 "$dir/vfiomapctl-$verb.json"; return 1; }
}

compare() {
        diff -u --label kernel --label vfiomapctl "$@"
}

# "GROUP BDF BDF..." per group.
kernel_group_members() {
        awk '{ m[$1] = m[$1] " " $2 } END { for (g in m) print g m[g] }' "$1/groups.txt" |
                while read -r group members; do echo "$group $(xargs -n1 <<<"$members" | sort | xargs)"; done |
                sort -n
}

groups_match_kernel() {
        compare <(kernel_group_members "$1") \
                <(jq -r "$jq_lib"'items("groups")[] | "\(.group) \(.devices | sort | join(" "))"' \
                        "$1/vfiomapctl-groups.json" | sort -n)
}

regions_match_kernel() {
        compare <(jq_lines '"\(.[0]) \(.[1] | text_hex) \(.[2] | text_hex) \(.[3])"' "$1/regions.txt" | sort) \
                <(jq -r "$jq_lib"'items("groups")[] | .group as $g | .reserved_regions[]
                                  | "\($g) \(.start | hex) \(.end | hex) \(.type)"' "$1/vfiomapctl-groups.json" |
                  sort)
}

# "GROUP TYPE UNIT": the group's type file and the unit of its members.
groups_type_and_unit_match_kernel() {
        compare <(awk 'FILENAME ~ /unit-of/ { unit[$1] = $2; next }
                       FILENAME ~ /group-types/ { type[$1] = $2; next }
                       !($1 in u) { u[$1] = ($2 in unit) ? unit[$2] : "-" }
                       END { for (g in u) print g, (g in type) ? type[g] : "-", u[g] }' \
                        "$1/unit-of.txt" "$1/group-types.txt" "$1/groups.txt" | sort -n) \
                <(jq -r "$jq_lib"'items("groups")[] | "\(.group) \(.type | dash) \(.iommu | dash)"' \
                        "$1/vfiomapctl-groups.json" | sort -n)
}

# Viability by DOMAIN.md's rule, from the drivers the kernel reports: "GROUP true|false BDF:DRIVER...".
viability_matches_kernel() {
        compare <(awk 'FILENAME ~ /devices/ { driver[$1] = $5; next }
                       { d = driver[$2]; g = $1; seen[g] = 1
                         if (d != "-" && d != "vfio-pci" && d != "pci-stub" && d != "pcieport")
                                 blockers[g] = blockers[g] " " $2 ":" d }
                       END { for (g in seen) print g, (g in blockers) ? "false" blockers[g] : "true" }' \
                        "$1/devices.txt" "$1/groups.txt" | sort -n) \
                <(jq -r "$jq_lib"'items("groups")[] | "\(.group) \(.viable)\(.blockers
                                  | map(" \(.device):\(.driver)") | sort | join(""))"' \
                        "$1/vfiomapctl-groups.json" | sort -n)
}

# shared_because of the group holding BDF is exactly [{reason: REASON, device: DEVICE}].
shared_because_is() {
        local dir=$1 bdf=$2 reason=$3 device=$4 group
        group=$(group_of "$dir" "$bdf")
        expect_equal "$(jq -c --arg g "$group" "$jq_lib"'items("groups")[] | select((.group | tostring) == $g)
                                                   | [.shared_because[] | {reason, device}]' \
                        "$dir/vfiomapctl-groups.json")" "[{\"reason\":\"$reason\",\"device\":\"$device\"}]"
}

single_member_groups_have_no_reason() {
        jq -r "$jq_lib"'items("groups")[] | select((.devices | length) == 1 and (.shared_because | length) > 0)
                        | "group \(.group): \(.shared_because)"' "$1/vfiomapctl-groups.json" | grep . && return 1
        return 0
}

# "BDF VENDOR DEVICE CLASS DRIVER GROUP UNIT PARENT" per device.
devices_match_kernel() {
        compare <(awk 'FILENAME ~ /groups/ { group[$2] = $1; next }
                       FILENAME ~ /unit-of/ { unit[$1] = $2; next }
                       { print $1, $2, $3, $4, $5, ($1 in group) ? group[$1] : "-",
                               ($1 in unit) ? unit[$1] : "-", $6 }' \
                        "$1/groups.txt" "$1/unit-of.txt" "$1/devices.txt" | sort) \
                <(jq -r "$jq_lib"'items("devices")[] | [.address, .vendor, .device, .class, (.driver | dash),
                                                           (.group | dash), (.iommu | dash), (.parent | dash)]
                                  | join(" ")' "$1/vfiomapctl-devices.json" | sort)
}

# BARs and ROM are resource lines 0-6 (DOMAIN.md); only lines with a range are listed.
bars_match_kernel() {
        compare <(awk '$2 <= 6 && ($3 != "0x0000000000000000" || $4 != "0x0000000000000000")' "$1/resources.txt" |
                  jq_lines '"\(.[0]) \(.[1]) \(.[2] | text_hex) \(.[3] | text_hex)"' /dev/stdin | sort) \
                <(jq -r "$jq_lib"'items("devices")[] | .address as $b | .bars[]
                                  | "\($b) \(.index) \(.start | hex) \(.end | hex)"' \
                        "$1/vfiomapctl-devices.json" | sort)
}

bit_as_json() {
        if [ "$1" = 1 ]; then echo true; else echo false; fi
}

# The unit as DOMAIN.md derives it from dmar0's cap/ecap, and the devices it serves.
intel_unit_matches_kernel() {
        local dir=$1 cap ecap devices
        cap=0x$(iommu_attr "$dir" dmar0 cap)
        ecap=0x$(iommu_attr "$dir" dmar0 ecap)
        devices=$(awk '$2 == "dmar0" { print $1 }' "$dir/unit-of.txt" | sort | jq -Rnc '[inputs]')
        compare <(jq -n --argjson width $(((cap >> 16 & 0x3f) + 1)) \
                        --arg sagaw "$(printf '0x%02x' $((cap >> 8 & 0x1f)))" \
                        --argjson cm "$(bit_as_json $((cap >> 7 & 1)))" \
                        --argjson ir "$(bit_as_json $((ecap >> 3 & 1)))" \
                        --argjson devices "$devices" \
                        '{units: [{name: "dmar0", kind: "intel", address_width: $width, interrupt_remapping: $ir,
                                   sagaw: $sagaw, caching_mode: $cm, devices: $devices}],
                          allow_unsafe_interrupts: false}') \
                <(jq '{units: [.units[] | {name, kind, address_width, interrupt_remapping, sagaw, caching_mode,
                                           devices: (.devices | sort)}],
                       allow_unsafe_interrupts}' "$dir/vfiomapctl-iommu.json")
}

# AMD: width from EFR HATS (bits 11:10: 0/1/2 -> 48/57/64); sysfs cannot tell interrupt remapping.
amd_unit_matches_kernel() {
        local dir=$1 efr width
        efr=$(iommu_attr "$dir" ivhd0 features)
        efr=0x${efr#*:}
        case $((efr >> 10 & 3)) in 0) width=48 ;; 1) width=57 ;; 2) width=64 ;; *) width=null ;; esac
        compare <(jq -n --argjson width "$width" \
                        '{units: [{name: "ivhd0", kind: "amd", address_width: $width, interrupt_remapping: null}]}') \
                <(jq '{units: [.units[] | {name, kind, address_width, interrupt_remapping}]}' \
                        "$dir/vfiomapctl-iommu.json")
}

# Why the shared groups of run-guest's topology are shared, by the devices found in DIR (none: no check).
check_vfiomapctl_reasons() {
        local dir=$1 label=$2 port bridge lpc
        for port in $(bdfs_with_ids "$dir" 104c 8233); do
                check "$label: vfiomapctl: the group of $port is shared because $port has no ACS" \
                        shared_because_is "$dir" "$port" no-acs "$port"
        done
        for bridge in $(bdfs_with_ids "$dir" 1b36 000e); do
                check "$label: vfiomapctl: the group of the pcie-pci-bridge $bridge is shared for its dma-alias" \
                        shared_because_is "$dir" "$bridge" dma-alias "$bridge"
        done
        for lpc in $(bdfs_with_ids "$dir" 8086 2918); do
                check "$label: vfiomapctl: the ICH9 group is shared because $lpc is multifunction" \
                        shared_because_is "$dir" "$lpc" multifunction "$lpc"
        done
}

# check_vfiomapctl DIR LABEL intel|amd: every comparison, one TAP line each, named "LABEL: ...".
check_vfiomapctl() {
        local dir=$1 variant=$2 kind=$3 verb
        if ! have_vfiomapctl; then
                tap_skip "$variant: vfiomapctl --root / matches the kernel" "${VFIOMAPCTL:-vfiomapctl} not built"
                return 0
        fi
        for verb in groups devices iommu; do
                check "$variant: vfiomapctl $verb --json exits 0 with a JSON document" vfiomapctl_ran "$dir" "$verb"
        done
        check "$variant: vfiomapctl groups: members of every group" groups_match_kernel "$dir"
        check "$variant: vfiomapctl groups: reserved regions of every group" regions_match_kernel "$dir"
        check "$variant: vfiomapctl groups: type and IOMMU unit of every group" \
                groups_type_and_unit_match_kernel "$dir"
        check "$variant: vfiomapctl groups: viability and blockers from the bound drivers" \
                viability_matches_kernel "$dir"
        check "$variant: vfiomapctl groups: no reason given for single-member groups" \
                single_member_groups_have_no_reason "$dir"
        check "$variant: vfiomapctl devices: ids, class, driver, group, unit and parent of every device" \
                devices_match_kernel "$dir"
        check "$variant: vfiomapctl devices: BARs and ROM of every device" bars_match_kernel "$dir"
        check "$variant: vfiomapctl iommu: the unit as its sysfs files describe it" "${kind}_unit_matches_kernel" "$dir"
}
