#!/bin/bash
# TAP. vfiomap installed from its .deb into a Debian 12 system that boots with systemd as PID 1 (QEMU q35,
# TCG, emulated VT-d, the PCI topology of tests/vm/README.md): the service as systemd, the system bus and
# polkitd run it. One boot; the checks run inside it (guest-service.sh), see tests/system/README.md.
set -euo pipefail

# shellcheck source=tests/system/lib.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/system/lib.sh"

system_require
system_prepare
system_boot service 400 "$system_dir/guest-service.sh"
tap_finish
