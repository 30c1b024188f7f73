#!/bin/sh
# layout FILE|NAME: what names a file and what names a libvirt domain. An existing file, or an argument
# with a slash or ending in .xml or .json, is a file: a missing one is reported as a missing file, libvirt
# is not asked. Anything else is a libvirt domain; when that lookup fails too, the message says both. The
# domain lookups use libvirt's built-in test:///default driver (in-process, no daemon). TAP.
set -u
. "$top_srcdir/tests/lib.sh"

ctl=$VFIOMAPCTL
root=$top_srcdir/tests/hosts/intel-client
spec=$top_srcdir/tests/layout/cli/intel-gpu.xml
[ -x "$ctl" ] || skip_all "vfiomapctl is not built"

# libvirt at a socket that is not there: asking it can only fail with a connection error.
export LIBVIRT_DEFAULT_URI="qemu:///system?socket=$tmp/no-libvirt-here"
cd "$tmp"

for missing in win11.xml win11.json ./win11 sub/win11; do
        "$ctl" --root "$root" layout "$missing" >"$tmp/out" 2>"$tmp/err"
        is "$?" 1 "$missing (missing): exit 1"
        ok "$missing (missing): No such file, naming it" grep -q "Failed to read $missing: No such file or directory" "$tmp/err"
        ok "$missing (missing): libvirt is not asked" sh -c "! grep -Eqi 'libvirt|socket' '$tmp/err'"
done

# An existing file is a file, whatever its name.
cp "$spec" "$tmp/gaming"
"$ctl" --root "$root" layout gaming >"$tmp/out" 2>"$tmp/err"
is "$?" 0 "an existing file without extension: read as a file"
ok "an existing file without extension: its layout" grep -q '^Verdict: ok' "$tmp/out"

# Neither a file nor a domain: both lookups in one message.
"$ctl" --root "$root" layout win11 >"$tmp/out" 2>"$tmp/err"
is "$?" 1 "neither file nor domain (libvirt unreachable): exit 1"
ok "neither file nor domain (libvirt unreachable): says both" \
        grep -q "win11 is neither a file (no such file here) nor a libvirt domain (Failed to connect to libvirt at" "$tmp/err"

export LIBVIRT_DEFAULT_URI=test:///default
"$ctl" --root "$root" layout win11 >"$tmp/out" 2>"$tmp/err"
is "$?" 1 "neither file nor domain (libvirt without it): exit 1"
ok "neither file nor domain (libvirt without it): says both" \
        grep -q "win11 is neither a file (no such file here) nor a libvirt domain (libvirt at test:///default has no domain win11" "$tmp/err"
# The test driver's one domain, "test", is found there (its XML names no machine type, which layout says).
"$ctl" --root "$root" layout test >"$tmp/out" 2>"$tmp/err"
ok "a libvirt domain: its XML is read from libvirt" grep -q "^vfiomapctl: test: <os><type machine=...> is missing" "$tmp/err"

done_testing
