#!/bin/bash
# TAP. vfiomap installed from its .deb into a Debian 12 system that boots with systemd as PID 1 (QEMU q35,
# TCG, emulated VT-d, the PCI topology of tests/vm/README.md): the service as systemd, the system bus and
# polkitd run it. One boot; the checks run inside it (guest-service.sh), see tests/system/README.md.
set -euo pipefail

# shellcheck source=tests/system/lib.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/system/lib.sh"

system_require
system_prepare
# VFIOMAP_SYSTEM_KEEP=DIR keeps what the guest wrote (journal, virsh output) in DIR/service.
if [ -n "${VFIOMAP_SYSTEM_KEEP:-}" ]; then
        out=$VFIOMAP_SYSTEM_KEEP/service
        rm -rf "$out"
else
        out=$(mktemp -d "${TMPDIR:-/tmp}/check-service.XXXXXX")
        trap 'rm -rf "$out"' EXIT
fi
system_boot service "$out" 400 "$system_dir/guest-service.sh"
tap_finish
