#!/bin/sh
# vfiomapd's figures: hotplug latency from uevent to DeviceAdded over a burst on a large host (zero lost),
# query round trips per second beside the bus's own GetId (the floor), and the daemon's RSS; then the same
# hotplug figures of tests/bench/uevent-echo, the floor that does nothing but answer each uevent.
#   tests/bench/bench-daemon.sh [DEVICES [EVENTS]]      (default 1000 512), from the build directory or
#   with top_srcdir, top_builddir, VFIOMAPD, DBUS_DAEMON, BUSCTL, UMOCKDEV_WRAPPER set as make check does.
# Prints figures; it is not a pass/fail test.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"
: "${VFIOMAPD:=$top_builddir/vfiomapd}"
: "${DBUS_DAEMON:=$(command -v dbus-daemon)}"
: "${BUSCTL:=$(command -v busctl)}"
: "${UMOCKDEV_WRAPPER:=$(command -v umockdev-wrapper)}"
export top_srcdir top_builddir VFIOMAPD DBUS_DAEMON BUSCTL UMOCKDEV_WRAPPER

. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/lib-bus.sh"
need "$DBUS_DAEMON" "$BUSCTL" "$UMOCKDEV_WRAPPER"
for p in tests/integration/test-hotplug-driver tests/bench/uevent-echo; do
        [ -x "$top_builddir/$p" ] || make -C "$top_builddir" "$p" >/dev/null
done
start_bus
SYSTEMD_DEVICE_VERIFY_SYSFS=0 TMPDIR=$tmp "$UMOCKDEV_WRAPPER" \
        "$top_builddir/tests/integration/test-hotplug-driver" --bench "${1:-1000}" "${2:-512}"
SYSTEMD_DEVICE_VERIFY_SYSFS=0 TMPDIR=$tmp "$UMOCKDEV_WRAPPER" \
        "$top_builddir/tests/integration/test-hotplug-driver" --bench "${1:-1000}" "${2:-512}" \
        --floor "$top_builddir/tests/bench/uevent-echo"
