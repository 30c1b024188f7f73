#!/bin/sh
# The live model: vfiomapd under umockdev on a private system bus, driven by test-hotplug-driver (C: only
# libumockdev can send uevents to a running process). See test-hotplug-driver.c for what is checked.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/lib-bus.sh"

need "$DBUS_DAEMON" "$BUSCTL"
# The preload library comes with the umockdev package, like umockdev-wrapper.
need "$UMOCKDEV_WRAPPER"
start_bus
# umockdev's testbed lives in $TMPDIR: keep it inside our own temporary directory.
SYSTEMD_DEVICE_VERIFY_SYSFS=0 TMPDIR=$tmp "$UMOCKDEV_WRAPPER" "$top_builddir/tests/integration/test-hotplug-driver"
