#!/bin/sh
# What --root accepts: the directory holding sys/, proc/ and dev/, or a snapshot archive. A directory
# without a sysfs (empty, or the sys/ directory itself) is refused with a message saying so, never read as
# a host without IOMMU. An archive is unpacked into a private temporary directory that goes away however
# vfiomapctl ends; archives whose members would land outside it are refused. TAP.
set -u
. "$top_srcdir/tests/lib.sh"

ctl=$VFIOMAPCTL
hosts=$top_srcdir/tests/hosts
[ -x "$ctl" ] || skip_all "vfiomapctl is not built"

# ---- a directory that holds no sysfs ----
mkdir "$tmp/empty"
for verb in devices groups iommu; do
        "$ctl" --root "$tmp/empty" $verb >"$tmp/out" 2>"$tmp/err"
        is "$?" 1 "empty directory: $verb exits 1"
        ok "empty directory: $verb says the root holds no sysfs" grep -q "holds no sysfs: there is no $tmp/empty/sys/bus/pci" "$tmp/err"
        ok "empty directory: $verb does not blame the IOMMU" sh -c "! grep -q 'IOMMU is off' '$tmp/out' '$tmp/err'"
done
"$ctl" --root "$tmp/empty" layout "$top_srcdir/tests/layout/cli/intel-gpu.xml" >"$tmp/out" 2>"$tmp/err"
is "$?" 1 "empty directory: layout exits 1"
ok "empty directory: layout says the root holds no sysfs" grep -q "holds no sysfs" "$tmp/err"

# ---- ROOT/sys: the parent is meant ----
"$ctl" --root "$hosts/intel-client/sys" groups >"$tmp/out" 2>"$tmp/err"
is "$?" 1 "ROOT/sys: exits 1"
ok "ROOT/sys: suggests the parent" grep -q "is a sysfs tree itself, not the root above one: use --root=$hosts/intel-client\.$" "$tmp/err"
"$ctl" --root "$hosts/intel-client/sys/" groups >"$tmp/out" 2>"$tmp/err"
ok "ROOT/sys/: the same, trailing slash or not" grep -q "use --root=$hosts/intel-client\.$" "$tmp/err"
(cd "$hosts/intel-client" && "$ctl" --root sys groups) >"$tmp/out" 2>"$tmp/err"
ok "sys relative to the current directory: suggests ." grep -q "use --root=\.\.$" "$tmp/err"

# ---- what still works ----
ok "a sample host still reads" sh -c "'$ctl' --root '$hosts/intel-client' groups >/dev/null"
# A host without PCI still has sys/bus (an arm64 board): no sysfs error, the model says there is no PCI bus.
mkdir -p "$tmp/nopci/sys/bus/platform"
"$ctl" --root "$tmp/nopci" devices >"$tmp/out" 2>"$tmp/err"
is "$?" 0 "sysfs without PCI: read, exit 0"
ok "sysfs without PCI: says there is no PCI bus" grep -q "no PCI bus" "$tmp/out"

# ---- a snapshot archive ----
command -v tar >/dev/null || { done_testing; exit; }
command -v python3 >/dev/null || { done_testing; exit; }
export TMPDIR="$tmp/t"
mkdir "$TMPDIR"
leftovers() {
        # leftovers: the temporary directories vfiomapctl left behind
        ls "$TMPDIR" | grep -c '^vfiomapctl-root\.' || true
}
"$ctl" --root "$hosts/intel-client" snapshot "$tmp/host.tar.gz" 2>/dev/null
for verb in devices groups iommu; do
        "$ctl" --root "$hosts/intel-client" $verb --json=short >"$tmp/a"
        "$ctl" --root "$tmp/host.tar.gz" $verb --json=short >"$tmp/b" 2>"$tmp/err"
        ok "--root host.tar.gz: $verb as from the tree" cmp -s "$tmp/a" "$tmp/b"
done
"$ctl" --root "$tmp/host.tar.gz" layout "$top_srcdir/tests/layout/cli/intel-gpu.xml" >"$tmp/out" 2>"$tmp/err"
is "$?" 0 "--root host.tar.gz: layout works on it"
is "$(leftovers)" 0 "--root host.tar.gz: the temporary directory is gone after exit"
"$ctl" --root "$tmp/host.tar.gz" device 0000:ff:00.0 >/dev/null 2>&1
is "$?" 1 "--root host.tar.gz: a failing verb fails"
is "$(leftovers)" 0 "--root host.tar.gz: the temporary directory is gone after a failure"

# Hostile archives, made with Python's tarfile (GNU tar itself refuses to store most of these): nothing is
# unpacked, the message names the member.
python3 - "$tmp" "$hosts/intel-client" <<'PY'
import io, sys, tarfile
d, tree = sys.argv[1], sys.argv[2]
def archive(name, members):
    with tarfile.open(f"{d}/{name}.tar.gz", "w:gz") as t:
        t.add(tree, arcname=".")  # a real tree, so only the bad member is wrong
        for m in members:
            t.addfile(m, io.BytesIO(b"x") if m.isfile() else None)
def f(name):
    i = tarfile.TarInfo(name); i.size = 1; return i
def fifo(name):
    i = tarfile.TarInfo(name); i.type = tarfile.FIFOTYPE; return i
def dev(name):
    i = tarfile.TarInfo(name); i.type = tarfile.BLKTYPE; i.devmajor = 8; i.devminor = 0; return i
archive("absolute", [f(f"{d}/escaped-absolute")])
archive("dotdot", [f("sys/../../escaped-dotdot")])
archive("fifo", [fifo("sys/bus/pci/devices/fifo")])
archive("blockdev", [dev("sys/bus/pci/devices/disk")])
def link(name, target):
    i = tarfile.TarInfo(name); i.type = tarfile.SYMTYPE; i.linkname = target; return i
archive("through-link", [link("out", f"{d}/outside"), f("out/escaped-link")])
PY
mkdir "$tmp/outside"
"$ctl" --root "$tmp/through-link.tar.gz" groups >"$tmp/out" 2>"$tmp/err"
is "$?" 1 "a member written through a link to outside: refused, exit 1"
ok "a member written through a link to outside: nothing written there" test ! -e "$tmp/outside/escaped-link"
for bad in absolute dotdot fifo blockdev; do
        "$ctl" --root "$tmp/$bad.tar.gz" groups >"$tmp/out" 2>"$tmp/err"
        is "$?" 1 "$bad member: refused, exit 1"
        ok "$bad member: the message says why" grep -Eq "points outside the directory|no file, directory or link" "$tmp/err"
done
ok "absolute member: nothing written outside" test ! -e "$tmp/escaped-absolute"
ok "dotdot member: nothing written outside" sh -c "! ls '$TMPDIR' | grep -q escaped && test ! -e '$tmp/escaped-dotdot'"
is "$(leftovers)" 0 "refused archives: no temporary directory left"

echo "not an archive" >"$tmp/junk.tar.gz"
"$ctl" --root "$tmp/junk.tar.gz" groups >"$tmp/out" 2>"$tmp/err"
is "$?" 1 "not an archive: exit 1"
ok "not an archive: says tar cannot read it" grep -q "tar cannot read it as an archive" "$tmp/err"
tar -czf "$tmp/empty.tar.gz" -C "$tmp/empty" .
"$ctl" --root "$tmp/empty.tar.gz" groups >"$tmp/out" 2>"$tmp/err"
ok "an archive without sysfs: says so, naming the archive" grep -q "$tmp/empty.tar.gz holds no sysfs" "$tmp/err"
is "$(leftovers)" 0 "failed archives: no temporary directory left"

# Ended by a signal while tar unpacks: a tar whose extraction takes its time (it lists with the real tar,
# then waits instead of extracting) lets the test send SIGTERM at that moment.
mkdir "$tmp/slowbin"
cat >"$tmp/slowbin/tar" <<SH
#!/bin/sh
case "\$1" in -x*) echo \$\$ >"$tmp/extracting"; exec sleep 30 ;; esac
exec $(command -v tar) "\$@"
SH
chmod +x "$tmp/slowbin/tar"
rm -f "$tmp/extracting"
PATH="$tmp/slowbin:$PATH" "$ctl" --root "$tmp/host.tar.gz" groups >/dev/null 2>&1 &
pid=$!
for i in $(seq 100); do [ -e "$tmp/extracting" ] && break; sleep 0.1; done
is "$(leftovers)" 1 "SIGTERM: the temporary directory exists while tar runs"
kill -TERM "$pid"
wait "$pid"
is "$?" 143 "SIGTERM: vfiomapctl dies of the signal"
is "$(leftovers)" 0 "SIGTERM: the temporary directory is removed"
kill "$(cat "$tmp/extracting")" 2>/dev/null || true

done_testing
