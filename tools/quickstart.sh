#!/bin/sh
# First contact: install what is needed, build, and show the host model of the bundled sample host
# (an Intel desktop with a GPU for passthrough). Run as root on Debian 12.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
"$src/tools/install-deps.sh"
[ -x "$src/configure" ] || (cd "$src" && ./autogen.sh >/dev/null)
mkdir -p "$src/build"
cd "$src/build"
[ -f Makefile ] || "$src/configure" --quiet
make -j"$(nproc)" >/dev/null

sample="$src/tests/hosts/intel-client"
for verb in iommu groups devices; do
        printf '\n$ vfiomapctl --root %s %s\n' "tests/hosts/intel-client" "$verb"
        ./vfiomapctl --root "$sample" "$verb"
done
