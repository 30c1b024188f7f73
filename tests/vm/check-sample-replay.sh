#!/bin/bash
# TAP, no guest boot. Replays the sample hosts taken from a real kernel by make-sample.sh: for each
# tests/vm/samples/NAME (what the guest's kernel said) with its snapshot tests/hosts/NAME, runs
# vfiomapctl --root tests/hosts/NAME groups|devices|iommu --json on the host and compares the documents
# with the kernel's facts, with the same checks check-guest-kernel.sh applies inside the guest.
set -euo pipefail

# shellcheck source=tests/vm/lib.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/vm/lib.sh"
# shellcheck source=tests/vm/facts.sh
. "$vm_dir/facts.sh"

if ! command -v jq >/dev/null 2>&1; then
        echo "1..0 # SKIP jq not found (tools/install-deps.sh installs it)"
        exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/check-sample-replay.XXXXXX")
trap 'rm -rf "$work"' EXIT

replay_sample() {
        local facts=$1 name dir tree verb variant
        name=$(basename "$facts")
        tree=$top_srcdir/tests/hosts/$name
        dir=$work/$name
        if [ ! -d "$tree" ]; then
                tap_not_ok "$name: snapshot tests/hosts/$name exists"
                return 0
        fi
        cp -R "$facts" "$dir"
        if have_vfiomapctl; then
                for verb in groups devices iommu; do
                        "$VFIOMAPCTL" --root "$tree" "$verb" --json >"$dir/vfiomapctl-$verb.json" \
                                2>"$dir/vfiomapctl-$verb.stderr" && echo 0 >"$dir/vfiomapctl-$verb.status" ||
                                echo $? >"$dir/vfiomapctl-$verb.status"
                done
        fi
        if grep -q '^dmar' "$dir/iommu.txt"; then variant=intel; else variant=amd; fi
        check_vfiomapctl "$dir" "$name" "$variant"
        ! have_vfiomapctl || check_vfiomapctl_reasons "$dir" "$name"
}

samples=("$vm_dir"/samples/*/)
if [ ! -d "${samples[0]}" ]; then
        echo "1..0 # SKIP no sample taken yet (tests/vm/make-sample.sh)"
        exit 0
fi
for facts in "${samples[@]}"; do
        replay_sample "${facts%/}"
done
tap_finish
