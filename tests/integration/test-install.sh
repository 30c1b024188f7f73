#!/bin/sh
# make install DESTDIR=... from a fresh ./configure puts every system file where the program that reads it
# looks (systemd, dbus-daemon, polkitd, libvirtd), whatever --prefix is, and the hook finds its hook.conf:
# with the defaults (a /usr/local build) and with the flags README's "Install" gives. Only configure and
# the data files are built (install-data), so this takes seconds; the C is compiled for one object only.
. "$top_srcdir/tests/lib.sh"

command -v strings >/dev/null 2>&1 || skip_all "strings not found (binutils, which build-essential brings)"

# configure refuses a second build of a source tree configured in place (a Debian package build, which
# runs this test), so the scratch builds use a copy of the files configure and install-data read, with
# their times, so that maintainer mode regenerates nothing. Not what an in-place build made there: make
# would find those through VPATH and take them as up to date.
mkdir "$tmp/src"
(cd "$top_srcdir" &&
 tar -c --exclude='*.o' --exclude=.deps --exclude=.dirstamp --exclude=libvirt/50-vfiomap \
        --exclude=systemd/vfiomapd.service --exclude=systemd/org.vfiomap1.service \
        configure configure.ac aclocal.m4 Makefile.am Makefile.in config.h.in build-aux \
        libvirt systemd man shell-completion client libvfiomap) | tar -x -C "$tmp/src" ||
        skip_all "cannot copy the source tree"

# check_tree NAME CONFIGURE-ARGS...: configures a scratch build with those arguments, installs its data into
# $tmp/NAME/dest and leaves the list of installed files (relative to DESTDIR) in $tmp/NAME/files.
check_tree() {
        _name=$1
        shift
        mkdir -p "$tmp/$_name/build" "$tmp/$_name/dest"
        # Precious variables of the calling build (distcheck's, for one) must not leak into this one.
        (cd "$tmp/$_name/build" &&
         env -u systemdsystemunitdir -u dbussystemservicedir -u dbussystemconfdir -u dbusdatadir \
             -u polkitactiondir -u bashcompletiondir \
             "$tmp/src/configure" --quiet "$@" >"$tmp/$_name/configure.log" 2>&1 &&
         make -s install-data DESTDIR="$tmp/$_name/dest" >"$tmp/$_name/install.log" 2>&1 &&
         make -s client/vfiomapctl-verb-libvirt-hook.o >>"$tmp/$_name/install.log" 2>&1)
        _rc=$?
        [ $_rc -eq 0 ] || sed 's/^/# /' "$tmp/$_name/configure.log" "$tmp/$_name/install.log"
        (cd "$tmp/$_name/dest" && find . -type f | sed 's|^\./|/|' | sort) >"$tmp/$_name/files"
        return $_rc
}

# A unit is read from /lib/systemd/system or /usr/lib/systemd/system (systemd.unit(5), "System Unit Search
# Path"); which one depends on the distribution's systemd.pc.
unit_in() {
        grep -qx -e '/lib/systemd/system/vfiomapd.service' -e '/usr/lib/systemd/system/vfiomapd.service' "$1"
}

# has FILES PATH: PATH was installed.
has() {
        grep -qx -e "$2" "$1"
}

# The path of hook.conf compiled into vfiomapctl (client/verb-libvirt-hook.c, HOOK_CONF).
hook_conf_read() {
        strings "$1/build/client/vfiomapctl-verb-libvirt-hook.o" | grep '/vfiomap/hook\.conf$'
}

# --- ./configure without arguments: programs under /usr/local, system files where they are read.
ok "default ./configure; make install-data" check_tree default
f=$tmp/default/files
ok "the qemu hook in /etc/libvirt/hooks/qemu.d, where libvirtd runs hooks" has "$f" /etc/libvirt/hooks/qemu.d/50-vfiomap
ok "the hook is executable (libvirtd skips it otherwise)" test -x "$tmp/default/dest/etc/libvirt/hooks/qemu.d/50-vfiomap"
ok "the hook runs the installed vfiomapctl" \
        grep -q '^exec /usr/local/bin/vfiomapctl libvirt-hook' "$tmp/default/dest/etc/libvirt/hooks/qemu.d/50-vfiomap"
ok "the bus policy in /usr/share/dbus-1/system.d, which system.conf includes" \
        has "$f" /usr/share/dbus-1/system.d/org.vfiomap1.conf
ok "the activation file in /usr/share/dbus-1/system-services" \
        has "$f" /usr/share/dbus-1/system-services/org.vfiomap1.service
ok "the polkit action in /usr/share/polkit-1/actions, polkitd's only directory" \
        has "$f" /usr/share/polkit-1/actions/org.vfiomap1.policy
ok "the unit in systemd's unit directory" unit_in "$f"
ok "hook.conf under the prefix's sysconfdir" has "$f" /usr/local/etc/vfiomap/hook.conf
is "$(hook_conf_read "$tmp/default")" /usr/local/etc/vfiomap/hook.conf "vfiomapctl reads the hook.conf make install writes"
is "$(grep -v -e '^/usr/local/' -e '^/etc/libvirt/hooks/qemu.d/' -e '^/usr/share/dbus-1/' -e '^/usr/share/polkit-1/' \
        -e '^/lib/systemd/system/' -e '^/usr/lib/systemd/system/' -e '^/usr/share/bash-completion/' "$f")" "" \
        "nothing else outside /usr/local"

# --- README's flags for a build from source: the same files the package installs.
ok "./configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var; make install-data" \
        check_tree usr --prefix=/usr --sysconfdir=/etc --localstatedir=/var
f=$tmp/usr/files
ok "hook.conf in /etc/vfiomap" has "$f" /etc/vfiomap/hook.conf
is "$(hook_conf_read "$tmp/usr")" /etc/vfiomap/hook.conf "vfiomapctl reads /etc/vfiomap/hook.conf"
ok "the hook in /etc/libvirt/hooks/qemu.d" has "$f" /etc/libvirt/hooks/qemu.d/50-vfiomap
ok "the hook runs /usr/bin/vfiomapctl" \
        grep -q '^exec /usr/bin/vfiomapctl libvirt-hook' "$tmp/usr/dest/etc/libvirt/hooks/qemu.d/50-vfiomap"
ok "the bus policy in /usr/share/dbus-1/system.d" has "$f" /usr/share/dbus-1/system.d/org.vfiomap1.conf
ok "the unit in systemd's unit directory" unit_in "$f"
unit=$(find "$tmp/usr/dest" -name vfiomapd.service -path '*/systemd/system/*')
ok "the unit starts /usr/sbin/vfiomapd" grep -qx 'ExecStart=/usr/sbin/vfiomapd' "$unit"
ok "the activation file starts /usr/sbin/vfiomapd" \
        grep -qx 'Exec=/usr/sbin/vfiomapd' "$tmp/usr/dest/usr/share/dbus-1/system-services/org.vfiomap1.service"
ok "the bash completion installed" sh -c "grep -q '/bash-completion/completions/vfiomapctl\$' '$f'"
ok "the man pages installed" sh -c "grep -qx /usr/share/man/man1/vfiomapctl.1 '$f' &&
        grep -qx /usr/share/man/man8/vfiomapd.8 '$f' && grep -qx /usr/share/man/man5/org.vfiomap1.5 '$f'"
is "$(grep -c '^/usr/local/' "$f")" 0 "nothing under /usr/local"

# --- --with-libvirt-hooks-dir moves the hook (a libvirt built with another sysconfdir).
ok "./configure --prefix=/nonexistent --with-libvirt-hooks-dir=/opt/libvirt/etc/hooks" \
        check_tree hooksdir --prefix=/nonexistent/vfiomap --with-libvirt-hooks-dir=/opt/libvirt/etc/hooks
ok "the hook follows it" has "$tmp/hooksdir/files" /opt/libvirt/etc/hooks/qemu.d/50-vfiomap
# A package removed but not purged leaves the hook (a conffile) and takes vfiomapctl: every VM must still
# start. The prefix above has no vfiomapctl.
hook=$tmp/hooksdir/dest/opt/libvirt/etc/hooks/qemu.d/50-vfiomap
echo '<domain type="kvm"><name>g</name></domain>' >"$tmp/domain.xml"
"$hook" g prepare begin - <"$tmp/domain.xml" >"$tmp/hook.out" 2>&1
is "$?" 0 "without vfiomapctl the hook lets the VM start"
is "$(cat "$tmp/hook.out")" "" "and prints nothing"
done_testing
