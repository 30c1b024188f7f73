#!/bin/sh
# Installs everything vfiomap needs to build, test and benchmark on Debian 12. Idempotent; run as root.
set -eu

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
        build-essential autoconf automake autoconf-archive pkg-config git ca-certificates \
        libsystemd-dev libvirt-dev libjson-c-dev libxml2-dev \
        systemd dbus dbus-daemon \
        umockdev libumockdev-dev \
        pciutils librsvg2-bin jq libxml2-utils util-linux \
        qemu-system-x86 busybox-static cpio kmod socat xz-utils \
        libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients \
        clang libclang-rt-14-dev valgrind polkitd \
        hyperfine strace mmdebstrap \
        debhelper dh-autoreconf dpkg-dev lintian devscripts \
        >/dev/null
