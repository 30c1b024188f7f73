#!/bin/bash
# Makes a sample host from a real kernel: boots the test guest (run-guest), takes
# `vfiomapctl --root / snapshot` of it and what its kernel says about itself (collect-guest-facts.sh), and
# puts both into the source tree:
#   tests/hosts/NAME/        the snapshot: replay it with vfiomapctl --root tests/hosts/NAME
#   tests/vm/samples/NAME/   the kernel's own facts at that moment, which check-sample-replay.sh compares
#                            vfiomapctl --root tests/hosts/NAME against
# Run it from the build directory after `make`, then review and commit both directories.
#
# usage: make-sample.sh [--variant intel|amd] [NAME]      (NAME default: qemu-q35-VARIANT)
# Needs VFIOMAPCTL (default: ./vfiomapctl) and what run-guest needs.
set -euo pipefail

# shellcheck source=tests/vm/lib.sh
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/vm/lib.sh"

variant=intel
if [ "${1:-}" = --variant ]; then
        variant=${2:?usage: make-sample.sh [--variant intel|amd] [NAME]}
        shift 2
fi
name=${1:-qemu-q35-$variant}
ctl=$(cd "$(dirname "${VFIOMAPCTL:-./vfiomapctl}")" && pwd)/$(basename "${VFIOMAPCTL:-./vfiomapctl}")
[ -x "$ctl" ] || { echo "make-sample.sh: $ctl not found: run make first (or set VFIOMAPCTL)" >&2; exit 1; }

tree=$top_srcdir/tests/hosts/$name
facts=$top_srcdir/tests/vm/samples/$name
work=$(mktemp -d "${TMPDIR:-/tmp}/make-sample.XXXXXX")
trap 'rm -rf "$work"' EXIT

# In the guest: the snapshot first (nothing else has run yet), then the facts, without VFIOMAPCTL so that
# the facts hold only what the kernel said.
"$run_guest" --variant "$variant" --out "$work" \
        --env "SNAPSHOT_CTL=$ctl" --env "COLLECT=$vm_dir/collect-guest-facts.sh" -- \
        sh -c '"$SNAPSHOT_CTL" --root / snapshot /mnt/out/tree && mkdir /mnt/out/facts && sh "$COLLECT" /mnt/out/facts'

# The exhaustive lspci -vvv dump helps a reader, not a replay; the vmm records stay.
rm -f "$work/facts/lspci-vvv.txt"
rm -rf "$tree" "$facts"
mkdir -p "$(dirname "$facts")"
mv "$work/tree" "$tree"
mv "$work/facts" "$facts"
echo "make-sample.sh: wrote $tree ($(find "$tree" | wc -l) entries) and $facts"
