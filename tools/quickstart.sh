#!/bin/sh
# First contact with vfiomap, on the bundled sample host tests/hosts/intel-client (an Intel desktop with a
# GPU prepared for passthrough): install what is needed, build, show the host model, compute a VM's
# layout, then run the real vfiomapd on that host over a private bus and claim the VM's devices through
# it. Run as root on Debian 12. Everything started here is stopped at the end. It installs Debian packages
# first (tools/install-deps.sh; NO_INSTALL=1 skips that) and builds in build/; it installs nothing else.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
sample=tests/hosts/intel-client
vm=tests/layout/cli/intel-gpu.xml

if [ "${NO_INSTALL:-0}" != 1 ]; then
        echo "== Installing the Debian packages vfiomap builds and runs with (tools/install-deps.sh; NO_INSTALL=1 skips this) =="
        "$src/tools/install-deps.sh"
fi
[ -x "$src/configure" ] || (cd "$src" && ./autogen.sh >/dev/null)
mkdir -p "$src/build"
cd "$src/build"
[ -f Makefile ] || "$src/configure" --quiet
make -j"$(nproc)" >/dev/null
PATH=$(pwd):$PATH
cd "$src"

show() {
        printf '\n\033[1m$ %s\033[0m\n' "$*"
        "$@" || true
}

echo "== The host model, read directly from the sample tree (no daemon) =="
show vfiomapctl --root "$sample" iommu
show vfiomapctl --root "$sample" groups
show vfiomapctl --root "$sample" group 2

echo
echo "== A VM with the GPU: the guest layout QEMU will build, checked against the host =="
show vfiomapctl --root "$sample" layout "$vm"

echo
echo "== The same through vfiomapd, serving the sample host on a private system bus =="
tmp=$(mktemp -d /tmp/vfiomap-quickstart.XXXXXX)
bus_pid= daemon_pid=
cleanup() {
        [ -z "$daemon_pid" ] || kill "$daemon_pid" 2>/dev/null || true
        [ -z "$bus_pid" ] || kill "$bus_pid" 2>/dev/null || true
        rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

cat >"$tmp/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$tmp/bus.socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
  </policy>
  <!-- The policy vfiomap installs on real systems. -->
  <include>$src/systemd/org.vfiomap1.conf</include>
</busconfig>
CONF
dbus-daemon --config-file="$tmp/bus.conf" --fork --print-pid=3 3>"$tmp/bus.pid"
bus_pid=$(cat "$tmp/bus.pid")
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$tmp/bus.socket"

vfiomapd --root "$sample" --runtime-dir "$tmp/run" --no-libvirt 2>"$tmp/vfiomapd.log" &
daemon_pid=$!
i=0
until busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" status org.vfiomap1 >/dev/null 2>&1; do
        i=$((i + 1))
        if [ "$i" -gt 100 ] || ! kill -0 "$daemon_pid" 2>/dev/null; then
                echo "vfiomapd did not come up:" >&2
                cat "$tmp/vfiomapd.log" >&2
                exit 1
        fi
        sleep 0.1
done

show vfiomapctl status
show busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager ListGroups
show vfiomapctl claim gaming "$vm"
show vfiomapctl machines
show vfiomapctl claim gaming-46 tests/layout/cli/intel-gpu-46.json
show vfiomapctl release gaming
show vfiomapctl machines
echo
echo "(vfiomapd stopped; the private bus and $tmp are removed.)"
