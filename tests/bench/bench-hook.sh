#!/bin/bash
# Figure 5 of tests/bench/run: wall time of "virsh start" of a TCG guest without a qemu hook, with a plain
# "#!/bin/sh" hook that only reads its standard input, and with vfiomap's hook.
#   unshare --mount --propagation private bench-hook.sh SCRATCH ROUNDS
# with VFIOMAPCTL, VFIOMAP_HOOK_CONF and DBUS_SYSTEM_BUS_ADDRESS set (vfiomapd already on that bus).
# Prints "none|plain|vfiomap MS" lines, one per timed start (three per configuration and round).
#
# libvirtd's paths (/etc/libvirt with its hooks, /run/libvirt, /var/lib/libvirt...) are fixed at build time
# and may belong to another libvirtd on this machine. So this script runs in a mount namespace of its own
# and mounts scratch directories over them: the host's /etc and the other libvirtd never see a thing, and
# everything mounted goes away with the namespace. The libvirtd it starts is stopped by PID.
set -u
scratch=${1:?usage: bench-hook.sh SCRATCH ROUNDS}
rounds=${2:-5}
L=$scratch/libvirt
libvirtd_pid=

die() {
        echo "error: $*" >&2
        exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (libvirt's qemu:///system)"
# Only inside a namespace of our own: mounting over /etc/libvirt in the host's would hide it from everyone.
[ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ] || die "run through unshare --mount"
for t in libvirtd virsh qemu-system-x86_64; do
        command -v "$t" >/dev/null 2>&1 || die "$t not found"
done

stop_libvirtd() {
        if [ -n "$libvirtd_pid" ]; then
                kill "$libvirtd_pid" 2>/dev/null
                wait "$libvirtd_pid" 2>/dev/null
        fi
        libvirtd_pid=
}
trap stop_libvirtd EXIT

mkdir -p "$L/etc/hooks/qemu.d" "$L/lib" "$L/cache" "$L/log/qemu" "$L/sock"
# /run/libvirt exists only while some libvirtd runs: a fresh /run (in this namespace only) instead.
mount -t tmpfs -o mode=755 tmpfs /run || die "cannot mount a tmpfs on /run"
[ -d /etc/libvirt ] || die "/etc/libvirt does not exist (is libvirt installed?)"
mount --bind "$L/etc" /etc/libvirt || die "cannot mount over /etc/libvirt"
# The state directories may be missing too (a libvirtd that never ran, or another's cleanup): then a
# tmpfs over their parent, again in this namespace only.
for d in /var/lib/libvirt:lib /var/cache/libvirt:cache /var/log/libvirt:log; do
        if [ -d "${d%%:*}" ]; then
                mount --bind "$L/${d#*:}" "${d%%:*}" || die "cannot mount over ${d%%:*}"
        else
                p=$(dirname "${d%%:*}")
                mount -t tmpfs -o mode=755 tmpfs "$p" || die "cannot mount a tmpfs on $p"
                mkdir -p "${d%%:*}"
        fi
done
mkdir -p /var/log/libvirt/qemu
# Debian's libvirtd resolves its compiled-in guest user "libvirt-qemu" before it reads qemu.conf, and a
# machine where libvirt never ran has no such user: add it to copies of passwd and group, seen only here.
if ! getent passwd libvirt-qemu >/dev/null; then
        cp /etc/passwd "$L/passwd"
        cp /etc/group "$L/group"
        echo "libvirt-qemu:x:64055:" >>"$L/group"
        echo "libvirt-qemu:x:64055:64055:libvirt qemu:/var/lib/libvirt:/usr/sbin/nologin" >>"$L/passwd"
        mount --bind "$L/passwd" /etc/passwd && mount --bind "$L/group" /etc/group ||
                die "cannot mount over /etc/passwd"
fi

# Guests run as root without cgroups, sandboxing or virtlogd: the bare cost of a start, which is what the
# hook is added to.
cat >/etc/libvirt/qemu.conf <<EOF
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
EOF
cat >/etc/libvirt/libvirtd.conf <<EOF
unix_sock_dir = "$L/sock"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:$L/libvirtd.log"
EOF
uri="qemu:///system?socket=$L/sock/libvirt-sock"

cat >"$L/plain-hook" <<'EOF'
#!/bin/sh
cat >/dev/null
EOF
# What libvirt/50-vfiomap is once installed, with the built client and the benchmark's bus (libvirtd
# gives hooks an empty environment).
cat >"$L/vfiomap-hook" <<EOF
#!/bin/sh
VFIOMAP_HOOK_CONF='$VFIOMAP_HOOK_CONF' exec '$VFIOMAPCTL' libvirt-hook -- "\$@"
EOF
chmod 755 "$L/plain-hook" "$L/vfiomap-hook"

cat >"$L/guest.xml" <<EOF
<domain type='qemu'><name>vfiomap-bench</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='q35'>hvm</type></os>
<devices><emulator>$(command -v qemu-system-x86_64)</emulator><memballoon model='none'/></devices></domain>
EOF

# Hooks are looked up when libvirtd starts: one libvirtd per configuration.
start_libvirtd() {
        rm -f /etc/libvirt/hooks/qemu.d/*
        case $1 in
        plain) cp "$L/plain-hook" /etc/libvirt/hooks/qemu.d/50-plain ;;
        vfiomap) cp "$L/vfiomap-hook" /etc/libvirt/hooks/qemu.d/50-vfiomap ;;
        esac
        libvirtd --config /etc/libvirt/libvirtd.conf --pid-file "$L/libvirtd.pid" </dev/null >>"$L/libvirtd.out" 2>&1 &
        libvirtd_pid=$!
        for _i in $(seq 1 300); do
                virsh -q -c "$uri" version >/dev/null 2>&1 && return 0
                kill -0 "$libvirtd_pid" 2>/dev/null || break
                sleep 0.1
        done
        die "libvirtd did not start: $(tail -n 3 "$L/libvirtd.log" "$L/libvirtd.out" 2>/dev/null)"
}

now_ns() {
        date +%s%N
}

# Rounds interleave the configurations, so that the machine's mood hits them alike.
for r in $(seq 1 "$rounds"); do
        for cfg in none plain vfiomap; do
                start_libvirtd "$cfg"
                virsh -q -c "$uri" define "$L/guest.xml" >/dev/null || die "virsh define failed"
                # One start to warm the caches, then three timed ones.
                for timed in 0 1 1 1; do
                        t0=$(now_ns)
                        out=$(virsh -q -c "$uri" start vfiomap-bench 2>&1) || die "virsh start ($cfg): $out"
                        t1=$(now_ns)
                        virsh -q -c "$uri" destroy vfiomap-bench >/dev/null 2>&1
                        [ "$timed" -eq 1 ] && echo "$cfg $(( (t1 - t0) / 1000 ))" | awk '{printf "%s %.3f\n", $1, $2 / 1000}'
                done
                virsh -q -c "$uri" undefine vfiomap-bench >/dev/null 2>&1
                stop_libvirtd
        done
done
