#!/bin/sh
# The Debian package as tools/build-deb.sh builds it from this checkout: every file where its reader looks,
# the hook executable, the files in /etc conffiles, the dlopen()ed libxml2 a dependency, vfiomapd enabled
# and started by the postinst, a running libvirtd restarted on the first installation, and no lintian
# error. Nothing is installed: the package is only unpacked into a scratch directory.
. "$top_srcdir/tests/lib.sh"

for t in git dpkg-buildpackage dpkg-deb dh; do
        command -v "$t" >/dev/null 2>&1 || skip_all "$t not found (tools/install-deps.sh installs it)"
done
# build-deb.sh copies the checkout with git archive: a tarball (distcheck, a package build) has none, and
# a tarball unpacked inside another checkout must not package that one.
top=$(git -C "$top_srcdir" rev-parse --show-toplevel 2>/dev/null) || skip_all "the source tree is not a git checkout"
[ "$top" = "$(cd "$top_srcdir" && pwd -P)" ] || skip_all "the source tree is not a git checkout of its own"

git -C "$top_srcdir" status --porcelain --untracked-files=no >"$tmp/status.before"
out=$("$top_srcdir/tools/build-deb.sh" "$tmp/out" 2>"$tmp/build.err")
ok "tools/build-deb.sh builds the package" [ $? -eq 0 ]
sed 's/^/# /' "$tmp/build.err"
deb=$(echo "$out" | tail -n 1)
ok "its last line is the .deb" test -f "$deb"
case $deb in "$tmp/out/vfiomap_"*"_$(dpkg-architecture -q DEB_HOST_ARCH).deb") r=0 ;; *) r=1 ;; esac
is "$r" 0 "named vfiomap_VERSION_ARCH.deb in OUTDIR"
is "$(git -C "$top_srcdir" status --porcelain --untracked-files=no)" "$(cat "$tmp/status.before")" \
        "the source tree is left as it was"

dpkg-deb -x "$deb" "$tmp/root" 2>/dev/null
dpkg-deb -e "$deb" "$tmp/control" 2>/dev/null
for f in /usr/bin/vfiomapctl /usr/sbin/vfiomapd /lib/systemd/system/vfiomapd.service \
        /usr/share/dbus-1/system.d/org.vfiomap1.conf /usr/share/dbus-1/system-services/org.vfiomap1.service \
        /usr/share/polkit-1/actions/org.vfiomap1.policy /etc/libvirt/hooks/qemu.d/50-vfiomap \
        /etc/vfiomap/hook.conf /usr/share/man/man1/vfiomapctl.1.gz /usr/share/man/man8/vfiomapd.8.gz \
        /usr/share/man/man5/org.vfiomap1.5.gz /usr/share/bash-completion/completions/vfiomapctl \
        /usr/share/doc/vfiomap/copyright; do
        ok "the package has $f" test -f "$tmp/root$f"
done
is "$(cd "$tmp/root" && find . -path ./usr/share/doc -prune -o -type f -print | wc -l)" 12 "and no other file"
ok "the hook is executable" test -x "$tmp/root/etc/libvirt/hooks/qemu.d/50-vfiomap"
ok "the hook runs /usr/bin/vfiomapctl" grep -q '^exec /usr/bin/vfiomapctl libvirt-hook' \
        "$tmp/root/etc/libvirt/hooks/qemu.d/50-vfiomap"
is "$(strings "$tmp/root/usr/bin/vfiomapctl" | grep '/vfiomap/hook\.conf$')" /etc/vfiomap/hook.conf \
        "vfiomapctl reads /etc/vfiomap/hook.conf"
ok "the unit starts /usr/sbin/vfiomapd" grep -qx 'ExecStart=/usr/sbin/vfiomapd' \
        "$tmp/root/lib/systemd/system/vfiomapd.service"
is "$(sort "$tmp/control/conffiles")" "/etc/libvirt/hooks/qemu.d/50-vfiomap
/etc/vfiomap/hook.conf" "the hook and hook.conf are conffiles"

depends=$(dpkg-deb -f "$deb" Depends)
ok "Depends names libxml2, which the programs dlopen()" sh -c "echo '$depends' | grep -q 'libxml2'"
ok "Depends has the linked libraries (shlibs)" sh -c "echo '$depends' | grep -q 'libjson-c5' &&
        echo '$depends' | grep -q 'libsystemd0'"
recommends=$(dpkg-deb -f "$deb" Recommends)
for p in libvirt-daemon-system polkitd dbus; do
        ok "Recommends $p" sh -c "echo '$recommends' | grep -qw '$p'"
done

ok "postinst enables vfiomapd.service" grep -q "deb-systemd-helper enable 'vfiomapd.service'" "$tmp/control/postinst"
ok "postinst starts it" grep -q "deb-systemd-invoke \$_dh_action 'vfiomapd.service'" "$tmp/control/postinst"
ok "postinst try-restarts a running libvirtd" grep -q 'deb-systemd-invoke try-restart "$unit"' "$tmp/control/postinst"
ok "prerm stops vfiomapd on remove" grep -q "deb-systemd-invoke stop 'vfiomapd.service'" "$tmp/control/prerm"
ok "the maintainer scripts parse" sh -n "$tmp/control/postinst" "$tmp/control/prerm" "$tmp/control/postrm"

if command -v lintian >/dev/null 2>&1; then
        lintian "$tmp/out/"*.changes >"$tmp/lintian" 2>&1
        sed 's/^/# /' "$tmp/lintian"
        is "$(grep -c '^E:' "$tmp/lintian")" 0 "lintian: no errors"
fi
done_testing
