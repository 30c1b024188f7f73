#!/bin/sh
# Builds what the system tests boot: a Debian 12 system in a directory, made with mmdebstrap from Debian's
# own packages (systemd, udev, dbus, polkitd, libvirt-daemon-system, QEMU, the Debian kernel), plus the
# kernel and initramfs that tests/vm/run-guest --image boots it with. vfiomap itself is not in the image:
# run-guest --install puts the freshly built .deb into each boot's overlay with dpkg, so an image stays
# valid across rebuilds of vfiomap.
#
# usage: prepare-image.sh [CACHE_DIR]
#   CACHE_DIR defaults to $VFIOMAP_SYSTEM_CACHE, then $top_builddir/tests/system/cache. The image is
#   CACHE_DIR/root; it is rebuilt when the package list or this script changes. The packages downloaded
#   are kept in CACHE_DIR/debs, so a rebuild downloads only what changed. Needs root (mmdebstrap --mode=root)
#   and Debian's archive as configured in /etc/apt (tools/install-deps.sh installs mmdebstrap).
# Prints nothing when the cache is complete.
set -eu

srcdir=$(cd "$(dirname "$0")" && pwd)
cache=${1:-${VFIOMAP_SYSTEM_CACHE:-${top_builddir:-.}/tests/system/cache}}

# What a host doing passthrough with libvirt runs, as Debian installs it. qemu-system-x86 runs the nested
# guests; jq and pciutils serve the checks. No Recommends: they would add a desktop's worth of packages.
packages="systemd-sysv udev dbus polkitd libvirt-daemon-system libvirt-clients qemu-system-x86 \
linux-image-amd64 kmod pciutils procps iproute2 jq"

die() {
        echo "prepare-image.sh: $*" >&2
        exit 1
}

image_stamp() {
        {
                echo "$packages"
                cksum <"$0"
        } | cksum
}

apt_sources() {
        # The host's own archive configuration (deb822 or one-line), so a mirror set up there is used.
        if [ -s /etc/apt/sources.list.d/debian.sources ]; then
                cat /etc/apt/sources.list.d/debian.sources
        elif [ -s /etc/apt/sources.list ]; then
                grep -v '^[[:space:]]*#' /etc/apt/sources.list
        else
                echo "deb http://deb.debian.org/debian bookworm main"
        fi
}

build_image() {
        stamp=$(image_stamp)
        if [ -x "$cache/root/lib/systemd/systemd" ] && [ "$(cat "$cache/root.stamp" 2>/dev/null)" = "$stamp" ]; then
                return 0
        fi
        command -v mmdebstrap >/dev/null 2>&1 || die "mmdebstrap not found (run tools/install-deps.sh)"
        [ "$(id -u)" = 0 ] || die "building the image needs root (mmdebstrap --mode=root)"

        echo "prepare-image.sh: building the Debian 12 system image in $cache/root (about a minute)" >&2
        rm -rf "$cache/root.new" "$cache/root" "$cache/root.stamp"
        mkdir -p "$cache/debs"
        # shellcheck disable=SC2086 # $packages is a list
        apt_sources | mmdebstrap --mode=root --variant=apt --format=directory --quiet \
                --aptopt='Apt::Install-Recommends "false"' \
                --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
                --include="$(echo $packages | tr ' ' ,)" \
                --skip=download/empty \
                --setup-hook='mkdir -p "$1/var/cache/apt/archives" && find "'"$cache"'/debs" -name "*.deb" -exec cp -t "$1/var/cache/apt/archives" {} +' \
                --customize-hook='find "$1/var/cache/apt/archives" -name "*.deb" -exec cp -u -t "'"$cache"'/debs" {} +' \
                --customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb' \
                --customize-hook="$srcdir/customize-image.sh" \
                bookworm "$cache/root.new" - >"$cache/mmdebstrap.log" 2>&1 ||
                { tail -n 20 "$cache/mmdebstrap.log" >&2; die "mmdebstrap failed (log: $cache/mmdebstrap.log)"; }
        mv "$cache/root.new" "$cache/root"
        echo "$stamp" >"$cache/root.stamp"
}

main() {
        mkdir -p "$cache"
        cache=$(cd "$cache" && pwd)
        exec 9>"$cache/.image-lock"
        flock 9
        build_image
        # tests/vm/prepare.sh takes the kernel from CACHE/kroot: the image's own, with its modules.
        version=$(ls "$cache/root/lib/modules" | head -n 1)
        [ -n "$version" ] || die "the image has no kernel modules"
        ln -sfn root "$cache/kroot"
        echo "$version" >"$cache/kernel-version"
        "$srcdir/../vm/prepare.sh" "$cache"
}

main "$@"
