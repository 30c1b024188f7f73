#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Cross-checks the trees mkhost builds (tests/hosts/NAME/ beside NAME.host) with readers that share no code
# with mkhost. lspci (pciutils) is pointed at each tree's sys/bus/pci and must list every device of the
# tree, with the drivers and IOMMU groups that the tree's own driver and iommu_group links name. When vfiomapctl has been built (and jq is there to read its
# JSON), `vfiomapctl --root TREE devices --json=short` must agree on the same three facts.
#
# The "broken" sample is left out: its damage is the point, and lspci stops at the looping device link.

set -u
: "${top_srcdir:?run through make check}"

LSPCI=${LSPCI:-}
VFIOMAPCTL=${VFIOMAPCTL:-}
if [ -z "$LSPCI" ] || [ ! -x "$LSPCI" ]; then
        echo "1..0 # SKIP lspci not found (install pciutils and re-run configure)"
        exit 0
fi

hosts=$top_srcdir/tests/hosts
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-lspci.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

n=0
ok() { # ok CONDITION-EXIT-STATUS NAME [DIAGNOSTIC-FILE]
        n=$((n + 1))
        if [ "$1" -eq 0 ]; then
                echo "ok $n - $2"
        else
                echo "not ok $n - $2"
                [ -n "${3:-}" ] && [ -s "$3" ] && head -n 20 "$3" | sed 's/^/# /'
        fi
}
skip() {
        n=$((n + 1))
        echo "ok $n - $1 # SKIP $2"
}

# "ADDRESS DRIVER GROUP" per device, "-" for none, from the tree's own links.
tree_view() {
        for dev in "$1"/sys/bus/pci/devices/*; do
                addr=${dev##*/}
                drv=-
                grp=-
                [ -L "$dev/driver" ] && drv=$(basename "$(readlink "$dev/driver")")
                [ -L "$dev/iommu_group" ] && grp=$(basename "$(readlink "$dev/iommu_group")")
                echo "$addr $drv $grp"
        done | sort
}

# The same from lspci's machine-readable records (-vmm), which are separated by blank lines.
lspci_view() {
        "$LSPCI" -A linux-sysfs -O "sysfs.path=$1/sys/bus/pci" -D -vmm -k 2>"$tmp/lspci.err" |
                awk -F '\t' '
                        function flush() {
                                if (slot != "")
                                        print tolower(slot), (drv == "" ? "-" : drv), (grp == "" ? "-" : grp)
                                slot = drv = grp = ""
                        }
                        $1 == "Slot:" { slot = $2 }
                        $1 == "Driver:" { drv = $2 }
                        $1 == "IOMMUGroup:" { grp = $2 }
                        /^$/ { flush() }
                        END { flush() }' | sort
}

have_ctl=false
if [ -n "$VFIOMAPCTL" ] && [ -x "$VFIOMAPCTL" ] && command -v jq >/dev/null 2>&1; then
        have_ctl=true
fi

set --
for desc in "$hosts"/*.host; do
        tree=${desc%.host}
        [ "${tree##*/}" = broken ] && continue
        [ -d "$tree/sys/bus/pci/devices" ] && set -- "$@" "$tree"
done
echo "1..$(($# * 4))"

for tree in "$@"; do
        name=${tree##*/}

        tree_view "$tree" >"$tmp/tree"
        lspci_view "$tree" >"$tmp/lspci"

        cut -d' ' -f1 "$tmp/tree" >"$tmp/tree.addr"
        cut -d' ' -f1 "$tmp/lspci" >"$tmp/lspci.addr"
        diff "$tmp/tree.addr" "$tmp/lspci.addr" >"$tmp/diff" 2>&1
        ok $? "$name: lspci reads all $(wc -l <"$tmp/tree.addr") devices" "$tmp/diff"

        cut -d' ' -f1,2 "$tmp/tree" >"$tmp/tree.drv"
        cut -d' ' -f1,2 "$tmp/lspci" >"$tmp/lspci.drv"
        diff "$tmp/tree.drv" "$tmp/lspci.drv" >"$tmp/diff" 2>&1
        ok $? "$name: lspci sees the same drivers" "$tmp/diff"

        # lspci prints IOMMUGroup: since pciutils 3.6; an older one prints none for any tree.
        if grep -q ' [0-9][0-9]*$' "$tmp/lspci" || ! grep -q ' [0-9][0-9]*$' "$tmp/tree"; then
                cut -d' ' -f1,3 "$tmp/tree" >"$tmp/tree.grp"
                cut -d' ' -f1,3 "$tmp/lspci" >"$tmp/lspci.grp"
                diff "$tmp/tree.grp" "$tmp/lspci.grp" >"$tmp/diff" 2>&1
                ok $? "$name: lspci sees the same IOMMU groups" "$tmp/diff"
        else
                skip "$name: lspci sees the same IOMMU groups" "this lspci does not print IOMMU groups"
        fi

        if $have_ctl; then
                if "$VFIOMAPCTL" --root "$tree" devices --json=short >"$tmp/ctl.json" 2>"$tmp/ctl.err" &&
                        jq -r '.[] | "\(.address | ascii_downcase) \(.driver // "-") \(.group // "-")"' \
                                "$tmp/ctl.json" 2>>"$tmp/ctl.err" | sort >"$tmp/ctl"; then
                        diff "$tmp/tree" "$tmp/ctl" >"$tmp/diff" 2>&1
                        ok $? "$name: vfiomapctl agrees on devices, drivers and groups" "$tmp/diff"
                else
                        ok 1 "$name: vfiomapctl agrees on devices, drivers and groups" "$tmp/ctl.err"
                fi
        else
                skip "$name: vfiomapctl agrees on devices, drivers and groups" "vfiomapctl not built or jq missing"
        fi
done
exit 0
