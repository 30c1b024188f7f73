#!/bin/bash
# TAP. vfiomap installed from its .deb into a Debian 12 system that boots with systemd as PID 1 (QEMU q35,
# TCG, emulated VT-d, the PCI topology of tests/vm/README.md): the service as systemd, the system bus and
# polkitd run it. One boot; the checks run inside it (guest-libvirt.sh), see tests/system/README.md.
set -euo pipefail

# shellcheck source=tests/system/lib.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/system/lib.sh"

system_require
system_prepare
# 5 GiB: QEMU must be able to allocate vm-low-ram-ioapic's 4080 MiB before it aborts on its layout (the
# guest's RAM is reserved at start; VFIO pins what it maps).
SYSTEM_MEMORY=${SYSTEM_MEMORY:-5G}
# An edu on the root bus, alone in its group: no FLR, no PM reset, and no bus to reset (vm-no-reset).
system_qemu_args=(--qemu-arg -device --qemu-arg edu,id=edu-rc,bus=pcie.0,addr=1e.0)
system_boot libvirt 900 "$system_dir/guest-libvirt.sh"
tap_finish
