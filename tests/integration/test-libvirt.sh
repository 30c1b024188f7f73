#!/bin/sh
# vfiomap with a real libvirtd (../shared/DOMAIN.md §6): vfiomapd --root on the intel-client sample host on
# a private system bus, libvirtd with its own sockets, and TCG guests without disks. Checks the qemu hook
# (fast pass, refusal messages inside "virsh start", claim and release around a start that libvirt fails),
# the daemon's libvirt side (lifecycle and device events, reconnection after a libvirtd restart,
# reconciliation of the claims after a vfiomapd restart and against the test:/// driver), vfiomapctl
# monitor, status, layout NAME and apply.
#
# libvirtd's state paths are fixed (/etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/log/libvirt), so
# it runs in a private mount namespace where scratch directories are mounted over them: the hook is
# installed in the scratch /etc/libvirt/hooks/qemu.d, nothing on the host changes (checked at the end),
# and a libvirtd the machine may run is not disturbed. There, qemu.conf runs guests as root (/dev/kvm,
# 0600 on some machines, would otherwise make libvirt probe QEMU again on every call: "KVM was enabled
# when probing ... but it is not available now") and writes their output to files (no virtlogd). QEMU's capabilities are cached in the build tree
# (tests/integration/libvirt-cache): the first run probes for ~10 s, later ones not.
#
# Everything started here is stopped by PID.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/lib-bus.sh"

need "$DBUS_DAEMON" "$BUSCTL" jq
for t in libvirtd virsh qemu-system-x86_64 unshare nsenter; do
        command -v "$t" >/dev/null 2>&1 || skip_all "$t not found (tools/install-deps.sh installs it)"
done
[ "$(id -u)" -eq 0 ] || skip_all "libvirt's qemu:///system and a mount namespace need root"
unshare --mount true 2>/dev/null || skip_all "cannot create a mount namespace here"

t_start=$(date +%s)
host=$top_srcdir/tests/hosts/intel-client
lv=$tmp/libvirt
cache=$top_builddir/tests/integration/libvirt-cache
mkdir -p "$lv/sock" "$lv/etc/hooks/qemu.d" "$tmp/run" "$cache"
chmod 755 "$tmp"
find /etc/libvirt /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt 2>/dev/null | sort >"$tmp/host.before"

ns_pid=
libvirtd_pid=
monitor_pid=
cleanup_libvirt() {
        if [ -n "$libvirtd_pid" ]; then
                for d in $(virsh_ list --name 2>/dev/null); do virsh_ destroy "$d" >/dev/null 2>&1; done
        fi
        stop_pid "$monitor_pid"
        stop_pid "$libvirtd_pid"
        stop_pid "$ns_pid"
        cleanup_bus
}
trap cleanup_libvirt EXIT

uri="qemu:///system?socket=$lv/sock/libvirt-sock"
virsh_() {
        virsh -q -c "$uri" "$@"
}

# wait_for CMD...: up to 20 s.
wait_for() {
        for _i in $(seq 1 200); do
                "$@" >/dev/null 2>&1 && return 0
                sleep 0.1
        done
        return 1
}

# The namespace is held by a sleeping process; libvirtd is started in it with nsenter. Fresh tmpfs on /run
# and /var give it empty state directories without creating any on the host (a fresh machine has none
# but /etc/libvirt); the capability cache is the build tree's.
[ -d /etc/libvirt ] || skip_all "/etc/libvirt is missing: is libvirt installed?"
#
# libvirt resolves its qemu user and group (Debian: libvirt-qemu) before it reads qemu.conf, and refuses
# to start without them; rather than adding them to the host, the namespace sees a copy of /etc/passwd
# and /etc/group that has them.
cp /etc/passwd "$lv/passwd"
cp /etc/group "$lv/group"
getent group libvirt-qemu >/dev/null || echo "libvirt-qemu:x:64055:" >>"$lv/group"
getent passwd libvirt-qemu >/dev/null ||
        echo "libvirt-qemu:x:64055:64055:vfiomap test:/var/lib/libvirt:/usr/sbin/nologin" >>"$lv/passwd"
unshare --mount --propagation private sh -c "
        set -e
        mount --bind '$lv/passwd' /etc/passwd
        mount --bind '$lv/group' /etc/group
        mount --bind '$lv/etc' /etc/libvirt
        mount -t tmpfs -o mode=755 vfiomap-test-run /run
        mount -t tmpfs -o mode=755 vfiomap-test-var /var
        mkdir -p /run/libvirt /var/lib/libvirt /var/log/libvirt/qemu /var/cache/libvirt /var/tmp
        ln -s /run /var/run
        mount --bind '$cache' /var/cache/libvirt
        touch '$lv/ns-ready'
        exec sleep 3600" 2>"$lv/ns.log" &
ns_pid=$!
if ! wait_for test -e "$lv/ns-ready"; then
        echo "Bail out! the mount namespace for libvirtd was not set up: $(cat "$lv/ns.log")"
        exit 1
fi
in_ns() {
        nsenter --mount="/proc/$ns_pid/ns/mnt" -- "$@"
}

cat >"$lv/libvirtd.conf" <<EOF
unix_sock_dir = "$lv/sock"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:$lv/libvirtd.log"
EOF
cat >"$lv/etc/qemu.conf" <<EOF
user = "root"
group = "root"
stdio_handler = "file"
EOF
start_libvirtd() {
        # The private bus stays in libvirtd's environment, so it never talks to the host's (machined,
        # firewalld).
        rm -f "$lv/libvirtd.pid"
        in_ns libvirtd --daemon --config "$lv/libvirtd.conf" --pid-file "$lv/libvirtd.pid" || return 1
        wait_for test -s "$lv/libvirtd.pid" || return 1
        libvirtd_pid=$(cat "$lv/libvirtd.pid")
        wait_for virsh_ version
}

# ---- bus, vfiomapd, hook ----
start_bus
cat >"$tmp/hook.conf" <<EOF
# libvirtd gives hooks an empty environment: the private bus is named here.
bus = $DBUS_SYSTEM_BUS_ADDRESS
runtime-dir = $tmp/run
EOF
# The installed hook is libvirt/50-vfiomap ("exec vfiomapctl libvirt-hook -- $@"); this one runs the built
# client and logs each call with its exit status, and whether the machine held a claim right after prepare.
cat >"$lv/etc/hooks/qemu.d/50-vfiomap-test" <<EOF
#!/bin/sh
VFIOMAP_HOOK_CONF='$tmp/hook.conf' '$VFIOMAPCTL' libvirt-hook -- "\$@"
rc=\$?
echo "\$1 \$2 \$3 rc=\$rc" >>'$tmp/hook.log'
[ "\$2" = prepare ] && [ -e '$tmp/run/machines/'"\$1"'.json' ] && echo "\$1 claimed" >>'$tmp/hook.log'
exit \$rc
EOF
chmod 755 "$lv/etc/hooks/qemu.d/50-vfiomap-test"
: >"$tmp/hook.log"

start_vfiomapd() {
        start_daemon --root="$host" --libvirt-uri="$uri" "$@"
}
ok "vfiomapd starts before libvirtd and serves anyway" start_vfiomapd
ok "it watches libvirt: LibvirtURI" sh -c "'$BUSCTL' get-property org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager LibvirtURI | grep -q 'socket='"
"$VFIOMAPCTL" monitor --json >"$tmp/monitor.log" 2>&1 &
monitor_pid=$!

t0=$(date +%s)
ok "libvirtd starts" start_libvirtd
echo "# libvirtd ready after $(( $(date +%s) - t0 )) s"
ok "vfiomapd connects to libvirt once it is there" wait_for grep -q "Watching libvirt at" "$tmp/daemon.log"

# ---- domains: TCG, no disk; the hostdevs are devices of the sample host ----
domain() { # NAME MEMORY_MIB HOSTDEV...
        _n=$1 _mem=$2
        shift 2
        echo "<domain type='qemu'><name>$_n</name><memory unit='MiB'>$_mem</memory><vcpu>1</vcpu>"
        echo "<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
        echo "<emulator>$(command -v qemu-system-x86_64)</emulator>"
        for _a in "$@"; do
                _bus=${_a%%:*} _rest=${_a#*:}
                echo "<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000'"
                echo " bus='0x$_bus' slot='0x${_rest%%.*}' function='0x${_rest#*.}'/></source></hostdev>"
        done
        echo "<memballoon model='none'/></devices></domain>"
}
domain vfiomap-plain 64 >"$tmp/plain.xml"
domain vfiomap-gpu 64 01:00.0 01:00.1 >"$tmp/gpu.xml"
domain vfiomap-audio 64 00:1f.3 >"$tmp/audio.xml"
domain vfiomap-big 501760 01:00.0 01:00.1 >"$tmp/big.xml"
for d in plain gpu audio big; do
        virsh_ define "$tmp/$d.xml" >/dev/null || echo "Bail out! virsh define $d failed"
done

# ---- a guest without VFIO devices: the hook lets it pass, the daemon sees its lifecycle ----
ok "a guest without VFIO devices starts" virsh_ start vfiomap-plain
ok "the hook ran for prepare and exited 0" grep -q "vfiomap-plain prepare begin rc=0" "$tmp/hook.log"
ok "vfiomapd saw it start" wait_for grep -q "libvirt: domain vfiomap-plain started (booted)" "$tmp/daemon.log"
is "$(vcall ListMachines)" "a(ssauo) 0" "it holds no claim"

# A device hot-added and removed (a USB tablet: no VFIO needed) reaches the daemon as DEVICE_ADDED/REMOVED.
echo "<input type='tablet' bus='usb'><alias name='ua-tablet'/></input>" >"$tmp/tablet.xml"
if virsh_ attach-device vfiomap-plain "$tmp/tablet.xml" --live >"$tmp/attach.log" 2>&1; then
        ok "vfiomapd saw DEVICE_ADDED" wait_for grep -q "libvirt: device ua-tablet added to domain vfiomap-plain" "$tmp/daemon.log"
        virsh_ detach-device vfiomap-plain "$tmp/tablet.xml" --live >/dev/null 2>&1
        ok "vfiomapd saw DEVICE_REMOVED" wait_for grep -q "libvirt: device ua-tablet removed from domain vfiomap-plain" "$tmp/daemon.log"
else
        echo "# attach-device failed: $(cat "$tmp/attach.log")"
        ok "attach-device of a USB tablet" false
fi

# ---- refusals, shown inside virsh start's error ----
out=$(virsh_ start vfiomap-audio 2>&1)
r=$?
ok "a guest whose group is not viable does not start" [ $r -ne 0 ]
case $out in *"vfiomap: Group 9 ("*") is not viable for machine vfiomap-audio: 0000:00:1f.0 is bound to lpc_ich"*) r=0 ;; *) r=1 ;; esac
ok "virsh start's error carries vfiomap's message (group, device, driver, what to do)" [ $r -eq 0 ]
[ $r -eq 0 ] || echo "# $out"

spec_json vfiomap-other 0000:01:00.0 0000:01:00.1 >"$tmp/other.json"
# (Exit status 10: claimed, with layout warnings.)
"$VFIOMAPCTL" claim vfiomap-other "$tmp/other.json" >/dev/null
r=$?
ok "vfiomapctl claim: another machine takes group 2" test $r -eq 0 -o $r -eq 10
out=$(virsh_ start vfiomap-gpu 2>&1)
r=$?
ok "a guest whose group another machine holds does not start" [ $r -ne 0 ]
case $out in *"vfiomap: Group 2 ("*") is owned by machine vfiomap-other (claimed "*"Stop that machine first"*) r=0 ;; *) r=1 ;; esac
ok "virsh start's error names the owner" [ $r -eq 0 ]
[ $r -eq 0 ] || echo "# $out"
ok "vfiomapctl release vfiomap-other" "$VFIOMAPCTL" release vfiomap-other

# ---- a guest the hook lets through: claimed at prepare, released when libvirt gives up ----
out=$(virsh_ start vfiomap-gpu 2>&1)
ok "libvirt itself fails the start (no VFIO on this machine)" [ $? -ne 0 ]
case $out in *vfiomap:*) r=1 ;; *) r=0 ;; esac
ok "... and vfiomap said nothing" [ $r -eq 0 ]
echo "# virsh: $(echo "$out" | head -n2 | tr '\n' ' ')"
ok "the hook claimed it at prepare" grep -q "^vfiomap-gpu claimed" "$tmp/hook.log"
ok "release end ran after the failure" grep -q "vfiomap-gpu release end rc=0" "$tmp/hook.log"
is "$(vcall ListMachines)" "a(ssauo) 0" "the claim is gone"
ok "so is machines/vfiomap-gpu.json" test ! -e "$tmp/run/machines/vfiomap-gpu.json"

# reconnect begin re-claims (libvirt passes a running guest's XML; no running guest here can have VFIO
# devices, so the hook is called as libvirt would call it).
VFIOMAP_HOOK_CONF=$tmp/hook.conf "$VFIOMAPCTL" libvirt-hook -- vfiomap-gpu reconnect begin - <"$tmp/gpu.xml"
ok "reconnect begin claims again" sh -c "'$BUSCTL' call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager ListMachines | grep -q vfiomap-gpu"
VFIOMAP_HOOK_CONF=$tmp/hook.conf "$VFIOMAPCTL" libvirt-hook -- vfiomap-gpu release end - <"$tmp/gpu.xml"
is "$(vcall ListMachines)" "a(ssauo) 0" "release end releases it"
ok "migrate prints nothing (libvirt keeps its XML)" sh -c \
        "VFIOMAP_HOOK_CONF='$tmp/hook.conf' '$VFIOMAPCTL' libvirt-hook -- vfiomap-gpu migrate begin - <'$tmp/gpu.xml' | cmp -s - /dev/null"

# ---- libvirtd restarts under a running guest ----
stop_pid "$libvirtd_pid"
libvirtd_pid=
ok "vfiomapd noticed libvirtd going away" wait_for grep -q "went away" "$tmp/daemon.log"
ok "libvirtd starts again" start_libvirtd
ok "reconnect begin ran for the running guest" wait_for grep -q "vfiomap-plain reconnect begin rc=0" "$tmp/hook.log"
ok "vfiomapd reconnected" wait_for sh -c "[ \$(grep -c 'Watching libvirt at' '$tmp/daemon.log') -ge 2 ]"
is "$(virsh_ domstate vfiomap-plain)" "running" "the guest still runs"

# ---- vfiomapd restarts: claims reconciled with what runs ----
spec_json vfiomap-ghost 0000:01:00.0 0000:01:00.1 >"$tmp/ghost.json"
"$VFIOMAPCTL" claim vfiomap-ghost "$tmp/ghost.json" >/dev/null
r=$?
ok "a claim for a machine that does not run" test $r -eq 0 -o $r -eq 10
stop_daemon
# libvirt removes its handles while vfiomapd's loop finishes: no error for that (the system test saw
# "Out of memory." at every stop).
ok "vfiomapd stopped by SIGTERM while connected to libvirt logs no error" \
        sh -c "! grep -q 'Out of memory' '$tmp/daemon.log'"
out=$(virsh_ start vfiomap-gpu 2>&1)
case $out in *"vfiomap: vfiomapd is not running"*"on-daemon-missing=warn"*) r=0 ;; *) r=1 ;; esac
ok "without vfiomapd a guest with VFIO devices does not start, and the hook says why" [ $r -eq 0 ]
[ $r -eq 0 ] || echo "# $out"
echo "on-daemon-missing = warn" >>"$tmp/hook.conf"
out=$(virsh_ start vfiomap-gpu 2>&1)
case $out in *"vfiomap: vfiomapd is not running"*) r=1 ;; *) r=0 ;; esac
ok "with on-daemon-missing=warn the hook lets it pass (libvirt fails it later)" [ $r -eq 0 ]
: >"$tmp/daemon.log"
ok "vfiomapd starts again" start_vfiomapd
ok "it reconciled with libvirt" wait_for grep -q "Watching libvirt at .*: 1 running domains" "$tmp/daemon.log"
ok "the claim of the machine that does not run was released" wait_for grep -q "Releasing the claim of vfiomap-ghost: libvirt reports the domain not running" "$tmp/daemon.log"
is "$(vcall ListMachines)" "a(ssauo) 0" "no claims left"
ok "machines/vfiomap-ghost.json is gone" test ! -e "$tmp/run/machines/vfiomap-ghost.json"

# ---- status and machines ----
ok "vfiomapctl status names libvirt" sh -c "'$VFIOMAPCTL' status | grep -q 'libvirt: qemu:///system?socket=.* (connected)'"
ok "vfiomapctl machines" sh -c "'$VFIOMAPCTL' machines | grep -q '^0 machines listed'"

# ---- apply ----
# vfiomapctl reaches libvirt the way virsh does.
export LIBVIRT_DEFAULT_URI="$uri"
out=$("$VFIOMAPCTL" apply --dry-run vfiomap-big 2>&1)
r=$?
echo "$out" | sed 's/^/#   /' | head -n 30
echo "$out" >"$tmp/apply-dry.log"
# 490 GiB under TCG: less RAM (below the GPU's own BAR) and then the phys-bits limit make it fit; the
# smaller RAM already brings the 64-bit hole under the IOMMU width, so the hole is left alone.
ok "apply --dry-run shows the memory it reduces" sh -c "grep -q '^- *<memory unit=\"KiB\">513802240</memory>$' '$tmp/apply-dry.log' &&
        grep -q '^+ *<memory unit=\"GiB\">270</memory>$' '$tmp/apply-dry.log'"
ok "... and the phys-bits limit" grep -q '^+ *<maxphysaddr mode="emulate" bits="39"/>$' "$tmp/apply-dry.log"
ok "... not the 64-bit hole, which it names as not needed" sh -c "! grep -q '^[-+].*pcihole64' '$tmp/apply-dry.log' &&
        grep -q '^Not applied, the changes above do without it: Shrink the 64-bit PCI hole' '$tmp/apply-dry.log'"
ok "... and the verdict becomes ok" grep -q 'verdict error, ok with these changes' "$tmp/apply-dry.log"
ok "--dry-run defined nothing" sh -c "! virsh -q -c '$uri' dumpxml --inactive vfiomap-big | grep -q maxphysaddr"
"$VFIOMAPCTL" apply vfiomap-big >"$tmp/apply.log" 2>&1
ok "apply defines it" grep -q "^Defined vfiomap-big" "$tmp/apply.log"
[ $? -eq 0 ] || sed 's/^/#   /' "$tmp/apply.log"
ok "virsh dumpxml shows the phys-bits limit" sh -c "virsh -q -c '$uri' dumpxml --inactive vfiomap-big | grep -q \"<maxphysaddr mode='emulate' bits='39'/>\""
ok "... and the memory" sh -c "virsh -q -c '$uri' dumpxml --inactive vfiomap-big | grep -q \"<memory unit='KiB'>283115520</memory>\""
"$VFIOMAPCTL" apply --dry-run vfiomap-big >"$tmp/apply-again.log" 2>&1
ok "apply again has nothing to write" grep -q '^Nothing to write' "$tmp/apply-again.log"
[ $? -eq 0 ] || sed 's/^/#   /' "$tmp/apply-again.log"
"$VFIOMAPCTL" --root="$host" layout vfiomap-big --json >"$tmp/layout-name.json"
is "$(jq -r .vm "$tmp/layout-name.json")" "vfiomap-big" "layout NAME reads the domain from libvirt"

# ---- the monitor saw the claims come and go ----
stop_pid "$monitor_pid"
monitor_pid=
ok "monitor: MachineNew for vfiomap-gpu" grep -q '"signal":"MachineNew".*"vfiomap-gpu"' "$tmp/monitor.log"
ok "monitor: MachineRemoved for vfiomap-gpu" grep -q '"signal":"MachineRemoved".*"vfiomap-gpu"' "$tmp/monitor.log"
ok "monitor: LibvirtConnected changes" grep -q '"LibvirtConnected":false' "$tmp/monitor.log"
[ $? -eq 0 ] || sed 's/^/#   /' "$tmp/monitor.log"
ok "monitor: the daemon's restart" grep -q '"signal":"DaemonStarted"' "$tmp/monitor.log"

# ---- reconciliation against libvirt's test driver: a running domain with VFIO devices ----
for d in $(virsh_ list --name); do virsh_ destroy "$d" >/dev/null 2>&1; done
stop_pid "$libvirtd_pid"
libvirtd_pid=
stop_daemon
sed -e 's/<domain type=.qemu.>/<domain type="test">/' -e 's/vfiomap-gpu/vfiomap-running/' \
    -e 's/q35/pc/' -e 's|<emulator>[^<]*</emulator>||' "$tmp/gpu.xml" >"$tmp/running.xml"
{ echo "<node>"; cat "$tmp/running.xml"; echo "</node>"; } >"$tmp/node.xml"
: >"$tmp/daemon.log"
ok "vfiomapd with libvirt's test driver" start_daemon --root="$host" --libvirt-uri="test://$tmp/node.xml"
ok "the running domain's devices are claimed though no hook ran" wait_for sh -c \
        "'$BUSCTL' call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager ListMachines | grep -q '\"vfiomap-running\" \"claimed\" 1 2'"
[ $? -eq 0 ] || sed 's/^/#   /' "$tmp/daemon.log"

find /etc/libvirt /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt 2>/dev/null | sort >"$tmp/host.after"
ok "nothing of libvirt's on the host changed" cmp -s "$tmp/host.before" "$tmp/host.after"

echo "# test-libvirt took $(( $(date +%s) - t_start )) s"
done_testing
