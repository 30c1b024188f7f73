#!/bin/bash
# TAP. The package under systemd on the AMD-Vi variant of the test host (run-guest --variant amd): the
# service reads AMD's IOMMU, groups and the HyperTransport hole as the kernel has them, and binds through
# the hardened unit. One short boot (guest-amd.sh); the VT-d host gets the full checks (check-service.sh).
set -euo pipefail

# shellcheck source=tests/system/lib.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/system/lib.sh"

system_require
system_prepare
SYSTEM_VARIANT=amd
system_boot amd 400 "$system_dir/guest-amd.sh"
tap_finish
