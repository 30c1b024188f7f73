#!/bin/sh
# Prepares what tests/vm/run-guest boots: a Debian kernel unpacked into a cache directory (never /boot, never
# the host's package database) and a tiny initramfs around tests/vm/init. Idempotent: a second run with a
# complete cache only checks a stamp and returns. Safe to run concurrently (flock on the cache).
#
# usage: prepare.sh [CACHE_DIR]
#   CACHE_DIR defaults to $VFIOMAP_VM_CACHE, then $top_builddir/tests/vm/cache, then ./tests/vm/cache.
#   VFIOMAP_VM_KERNEL=6.1.0-NN-amd64 picks a kernel ABI; otherwise a kernel already in the cache is reused,
#   else the one linux-image-amd64 depends on (needs `apt-get update` to have run: tools/install-deps.sh).
# Prints nothing on success unless a download or a rebuild happened.
set -eu

srcdir=$(cd "$(dirname "$0")" && pwd)
cache=${1:-${VFIOMAP_VM_CACHE:-${top_builddir:-.}/tests/vm/cache}}

# The modules /init loads before it can mount the host's root: virtio transport, 9p over virtio, overlayfs.
initramfs_modules="virtio_pci 9pnet_virtio 9p overlay"

die() {
        echo "prepare.sh: $*" >&2
        exit 1
}

require_tools() {
        for tool in apt-get apt-cache dpkg-deb dpkg-query depmod modprobe cpio flock; do
                command -v "$tool" >/dev/null 2>&1 || die "$tool not found (run tools/install-deps.sh)"
        done
        [ -x /bin/busybox ] || die "/bin/busybox not found (install busybox-static)"
        # The initramfs has no libc: a dynamically linked busybox (package busybox) would not start.
        if ldd /bin/busybox >/dev/null 2>&1; then
                die "/bin/busybox is dynamically linked: install busybox-static"
        fi
}

kernel_version_wanted() {
        if [ -n "${VFIOMAP_VM_KERNEL:-}" ]; then
                echo "$VFIOMAP_VM_KERNEL"
                return
        fi
        if [ -s "$cache/kernel-version" ] && [ -d "$cache/kroot/lib/modules/$(cat "$cache/kernel-version")" ]; then
                cat "$cache/kernel-version"
                return
        fi
        # "Depends: linux-image-6.1.0-56-amd64" -> 6.1.0-56-amd64
        apt-cache depends linux-image-amd64 2>/dev/null |
                sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*\)$/\1/p' | head -n 1
}

fetch_kernel() {
        version=$1
        [ -f "$cache/kroot/boot/vmlinuz-$version" ] && [ -f "$cache/kroot/lib/modules/$version/modules.dep" ] && return 0

        echo "prepare.sh: fetching linux-image-$version into $cache" >&2
        dl=$(mktemp -d "$cache/download.XXXXXX")
        # Root downloads into a 0700 directory that apt's sandbox user cannot enter: skip the sandbox.
        if ! (cd "$dl" && apt-get download -q -o APT::Sandbox::User=root "linux-image-$version" >/dev/null); then
                rm -rf "$dl"
                die "apt-get download linux-image-$version failed (has apt-get update run?)"
        fi
        rm -rf "$cache/kroot.new" "$cache/kroot"
        dpkg-deb -x "$dl"/linux-image-"$version"_*.deb "$cache/kroot.new"
        rm -rf "$dl"
        depmod -b "$cache/kroot.new" "$version"
        mv "$cache/kroot.new" "$cache/kroot"
        echo "$version" >"$cache/kernel-version"
        rm -f "$cache/initramfs.stamp"
}

# run-guest --drivers udev runs systemd-udevd in the guest. When the host has no udev package (installing
# one would start udevd on the host), unpack the udev that matches the host's systemd (udevadm links
# libsystemd-shared of that exact version) into the cache; the guest copies it into its overlay.
fetch_udev() {
        [ -x /lib/systemd/systemd-udevd ] && return 0
        # A kroot that is a whole system (tests/system/prepare-image.sh) boots its own udev.
        [ -L "$cache/kroot/lib/systemd/systemd-udevd" ] || [ -x "$cache/kroot/lib/systemd/systemd-udevd" ] && return 0
        systemd_version=$(dpkg-query -W -f='${Version}' systemd 2>/dev/null) || return 0
        [ "$(cat "$cache/udevroot.version" 2>/dev/null)" = "$systemd_version" ] && return 0

        echo "prepare.sh: fetching udev $systemd_version into $cache" >&2
        dl=$(mktemp -d "$cache/download.XXXXXX")
        if ! (cd "$dl" && apt-get download -q -o APT::Sandbox::User=root "udev=$systemd_version" >/dev/null); then
                rm -rf "$dl"
                echo "prepare.sh: apt-get download udev=$systemd_version failed: --drivers udev will not work" >&2
                return 0
        fi
        rm -rf "$cache/udevroot"
        dpkg-deb -x "$dl"/udev_*.deb "$cache/udevroot"
        rm -rf "$dl" "$cache/udevroot/lib/udev/hwdb.d" "$cache/udevroot/usr/share"
        echo "$systemd_version" >"$cache/udevroot.version"
}

# The bzImage's payload as a plain ELF vmlinux. QEMU boots that through its PVH entry point (CONFIG_PVH):
# no SeaBIOS linuxboot copy and no in-guest xz decompression, which under TCG saves ~5 s of every boot.
extract_vmlinux() {
        version=$1
        image=$cache/kroot/boot/vmlinuz-$version
        [ -s "$cache/vmlinux-$version" ] && return 0
        rm -f "$cache"/vmlinux-*
        # The xz stream starts at its magic FD 37 7A 58 5A 00; the bytes before it are the decompressor.
        offset=$(LC_ALL=C grep -abo "$(printf '\3757zXZ')" "$image" | head -n 1 | cut -d: -f1)
        [ -n "$offset" ] || return 1
        # xz complains about the trailing bytes after the stream; the ELF is complete before them.
        tail -c +"$((offset + 1))" "$image" | xz -dcq >"$cache/vmlinux.new" 2>/dev/null || true
        # Only an ELF that carries the PVH note (XEN_ELFNOTE_PHYS32_ENTRY) boots this way.
        if [ "$(head -c 4 "$cache/vmlinux.new" | od -An -c | tr -d ' ')" != '177ELF' ]; then
                rm -f "$cache/vmlinux.new"
                return 1
        fi
        mv "$cache/vmlinux.new" "$cache/vmlinux-$version"
}

# What the initramfs depends on; a change of any rebuilds it.
initramfs_stamp() {
        version=$1
        {
                echo "$version $initramfs_modules"
                cksum <"$srcdir/init"
                cksum </bin/busybox
        } | cksum
}

# Every insmod line modprobe would run, in order, without duplicates (9pnet is a dependency of two modules).
initramfs_module_paths() {
        version=$1
        for module in $initramfs_modules; do
                modprobe -d "$cache/kroot" -S "$version" --show-depends "$module" || exit 1
        done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }'
}

build_initramfs() {
        version=$1
        stamp=$(initramfs_stamp "$version")
        if [ -f "$cache/initramfs.cpio" ] && [ "$(cat "$cache/initramfs.stamp" 2>/dev/null)" = "$stamp" ]; then
                return 0
        fi

        tree=$(mktemp -d "$cache/initramfs.XXXXXX")
        mkdir -p "$tree/bin" "$tree/modules" "$tree/proc" "$tree/sys" "$tree/dev" "$tree/newroot"
        cp /bin/busybox "$tree/bin/busybox"
        for applet in $(/bin/busybox --list); do
                [ "$applet" = busybox ] || ln -s busybox "$tree/bin/$applet"
        done
        cp "$srcdir/init" "$tree/init"
        chmod 0755 "$tree/init"
        paths=$(initramfs_module_paths "$version") || die "modprobe --show-depends failed"
        for path in $paths; do
                cp "$path" "$tree/modules/"
                basename "$path" >>"$tree/modules/order"
        done
        # Uncompressed: unpacking gzip costs more under TCG than reading 3 MB more does.
        (cd "$tree" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$cache/initramfs.cpio.new"
        rm -rf "$tree"
        mv "$cache/initramfs.cpio.new" "$cache/initramfs.cpio"
        echo "$stamp" >"$cache/initramfs.stamp"
}

main() {
        require_tools
        mkdir -p "$cache"
        cache=$(cd "$cache" && pwd)
        exec 9>"$cache/.lock"
        flock 9

        version=$(kernel_version_wanted)
        [ -n "$version" ] || die "no Debian kernel package known: run apt-get update (tools/install-deps.sh does)"
        fetch_kernel "$version"
        # run-guest boots "kernel": the PVH vmlinux when it could be made, the bzImage otherwise.
        if command -v xz >/dev/null 2>&1 && extract_vmlinux "$version"; then
                ln -sfn "vmlinux-$version" "$cache/kernel"
        else
                ln -sfn "kroot/boot/vmlinuz-$version" "$cache/kernel"
        fi
        build_initramfs "$version"
        fetch_udev
}

main "$@"
