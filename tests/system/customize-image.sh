#!/bin/sh
# mmdebstrap --customize-hook of prepare-image.sh: $1 is the new system's root. What an administrator of a
# passthrough host would have set up before installing vfiomap, and nothing of vfiomap itself.
set -eu
root=$1

echo vfiomap-host >"$root/etc/hostname"
# libvirt's "default" NAT network autostarts and needs dnsmasq and iptables, which nested guests without
# network do not: without the link libvirtd starts without an error in its log.
rm -f "$root/etc/libvirt/qemu/networks/autostart/default.xml"
# An unprivileged user for the polkit checks, and the group a polkit rule grants vfiomap to.
chroot "$root" groupadd --system vfiomap-admins
chroot "$root" useradd --create-home --shell /bin/bash tester
# The serial console logs in nobody: no getty on it (the checks write their own serial ports).
ln -sf /dev/null "$root/etc/systemd/system/serial-getty@ttyS0.service"
