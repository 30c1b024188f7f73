# Shared helpers for the daemon's integration tests: a private system bus, vfiomapd on it, a small host
# tree, and cleanup of every process started, by PID. Source after tests/lib.sh:
#   . "$top_srcdir/tests/lib.sh"; . "$top_srcdir/tests/integration/lib-bus.sh"
#
# Nothing here touches the real system bus, /sys, /dev or /etc: the bus is a dbus-daemon with its own
# configuration and socket in $tmp, and DBUS_SYSTEM_BUS_ADDRESS points every client (busctl, vfiomapctl,
# vfiomapd via sd_bus_open_system()) at it.

bus_pid=
daemon_pid=

# need TOOL...: skip the whole test when a tool is missing (tools/install-deps.sh installs them all).
need() {
        for t in "$@"; do
                if [ -z "$t" ] || ! command -v "$t" >/dev/null 2>&1; then
                        skip_all "$t not found (tools/install-deps.sh installs it)"
                fi
        done
}

stop_pid() {
        [ -n "$1" ] || return 0
        kill "$1" 2>/dev/null || return 0
        # Give it up to 10 s to exit cleanly (valgrind and LeakSanitizer look for leaks at exit, which takes
        # a while), then make sure. A child that exited is a zombie until waited for: that counts as gone.
        for _i in $(seq 1 100); do
                _state=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || _state=
                { [ -z "$_state" ] || [ "$_state" = Z ]; } && break
                sleep 0.1
        done
        kill -9 "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
}

cleanup_bus() {
        stop_pid "$daemon_pid"
        stop_pid "$bus_pid"
        # In a --enable-sanitizers build a daemon's ASan, LSan or UBSan report (in its log, which nothing
        # else reads) fails the test.
        if grep -q 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$tmp/daemon.log" 2>/dev/null; then
                echo "# vfiomapd's sanitizer report:"
                grep -A40 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$tmp/daemon.log" |
                        head -n 80 | sed 's/^/#   /'
                cleanup_tmp
                exit 1
        fi
        cleanup_tmp
}
trap cleanup_bus EXIT
trap 'exit 1' INT TERM

# start_bus [deny_user]: a private bus of type "system". Everything is allowed, as the daemon decides what
# a caller may do; tests of authorization call as another user, which the tmp dir and socket allow.
start_bus() {
        need "$DBUS_DAEMON"
        mkdir -p "$tmp/bus"
        chmod 755 "$tmp" "$tmp/bus"
        cat >"$tmp/bus/system.conf" <<EOC
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$tmp/bus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
EOC
        "$DBUS_DAEMON" --config-file="$tmp/bus/system.conf" --nofork --print-address=3 \
                3>"$tmp/bus/address" </dev/null >/dev/null 2>"$tmp/bus/log" &
        bus_pid=$!
        for _i in $(seq 1 100); do
                [ -s "$tmp/bus/address" ] && break
                sleep 0.05
        done
        DBUS_SYSTEM_BUS_ADDRESS=$(head -n1 "$tmp/bus/address")
        [ -n "$DBUS_SYSTEM_BUS_ADDRESS" ] || { echo "Bail out! dbus-daemon did not start"; exit 1; }
        export DBUS_SYSTEM_BUS_ADDRESS
        chmod 666 "$tmp/bus/system_bus_socket"
}

# wait_for_name: until org.vfiomap1 has an owner (vfiomapd sends READY=1 at the same moment), at most
# VFIOMAPD_START_TIMEOUT seconds (10; tools/check-valgrind.sh gives a daemon under valgrind more).
wait_for_name() {
        for _i in $(seq 1 $((${VFIOMAPD_START_TIMEOUT:-10} * 20))); do
                if "$BUSCTL" call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
                        NameHasOwner s org.vfiomap1 2>/dev/null | grep -q true; then
                        return 0
                fi
                if [ -n "$daemon_pid" ] && ! kill -0 "$daemon_pid" 2>/dev/null; then
                        echo "# vfiomapd died:"; sed 's/^/#   /' "$tmp/daemon.log"
                        return 1
                fi
                sleep 0.05
        done
        echo "# vfiomapd did not take its name:"; sed 's/^/#   /' "$tmp/daemon.log"
        return 1
}

# start_daemon ARGS...: vfiomapd on the private bus with claims in $tmp/run.
start_daemon() {
        mkdir -p "$tmp/run"
        "$VFIOMAPD" --runtime-dir="$tmp/run" "$@" </dev/null >>"$tmp/daemon.log" 2>&1 &
        daemon_pid=$!
        wait_for_name
}

stop_daemon() {
        stop_pid "$daemon_pid"
        daemon_pid=
}

kill9_daemon() {
        kill -9 "$daemon_pid" 2>/dev/null
        wait "$daemon_pid" 2>/dev/null || true
        daemon_pid=
}

# vcall METHOD [SIGNATURE ARGS...]: a Manager method call through busctl, output on stdout.
vcall() {
        _m=$1
        shift
        "$BUSCTL" call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager "$_m" "$@"
}

vprop() {
        "$BUSCTL" get-property org.vfiomap1 "$1" "$2" "$3"
}

# The JSON of a busctl "s" reply: busctl --json=short prints {"type":"s","data":["..."]}.
vcall_json() {
        "$BUSCTL" --json=short call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager "$@" | jq -r '.data[0]'
}

# ---- a small host tree, the shape of the kernel's (../shared/DOMAIN.md §2) ----

# add_device ROOT PARENT_PATH BDF VENDOR DEVICE CLASS DRIVER GROUP
add_device() {
        _root=$1 _parent=$2 _bdf=$3 _ven=$4 _dev=$5 _class=$6 _drv=$7 _grp=$8
        _d="$_root/sys/devices/$_parent/$_bdf"
        mkdir -p "$_d" "$_root/sys/bus/pci/devices" "$_root/sys/bus/pci/drivers"
        echo "$_ven" >"$_d/vendor"
        echo "$_dev" >"$_d/device"
        echo "$_class" >"$_d/class"
        echo 0x0000 >"$_d/subsystem_vendor"
        echo 0x0000 >"$_d/subsystem_device"
        echo "(null)" >"$_d/driver_override"
        echo -1 >"$_d/numa_node"
        _i=0
        : >"$_d/resource"
        while [ $_i -lt 13 ]; do
                echo "0x0000000000000000 0x0000000000000000 0x0000000000000000" >>"$_d/resource"
                _i=$((_i + 1))
        done
        ln -sfn "../../../devices/$_parent/$_bdf" "$_root/sys/bus/pci/devices/$_bdf"
        write_config "$_d/config" "$_ven" "$_dev" "$_class"
        set_driver "$_root" "$_bdf" "$_drv"
        if [ -n "$_grp" ]; then
                mkdir -p "$_root/sys/kernel/iommu_groups/$_grp/devices"
                [ -e "$_root/sys/kernel/iommu_groups/$_grp/reserved_regions" ] || \
                        printf '0x00000000fee00000 0x00000000feefffff msi\n' \
                                >"$_root/sys/kernel/iommu_groups/$_grp/reserved_regions"
                echo DMA >"$_root/sys/kernel/iommu_groups/$_grp/type"
                ln -sfn "../../../../devices/$_parent/$_bdf" "$_root/sys/kernel/iommu_groups/$_grp/devices/$_bdf"
                ln -sfn "$(echo "$_parent/$_bdf" | sed 's|[^/]*|..|g')/../kernel/iommu_groups/$_grp" "$_d/iommu_group"
                ln -sfn "$(echo "$_parent/$_bdf" | sed 's|[^/]*|..|g')/../devices/virtual/iommu/dmar0" "$_d/iommu"
                mkdir -p "$_root/sys/devices/virtual/iommu/dmar0/devices"
                ln -sfn "../../../../$_parent/$_bdf" "$_root/sys/devices/virtual/iommu/dmar0/devices/$_bdf"
        fi
}

# byte VALUE: one raw byte (octal escapes: dash's printf knows no \x).
byte() {
        printf "\\$(printf %o "$1")"
}

# write_config FILE VENDOR DEVICE CLASS: the first 64 bytes of config space, what a reader without
# privileges sees: IDs, class, header type (1 for bridges), no capabilities.
write_config() {
        {
                byte $(($2 & 0xff)); byte $(($2 >> 8)); byte $(($3 & 0xff)); byte $(($3 >> 8))
                byte 0; byte 0; byte 0; byte 0
                byte 0; byte $(($4 & 0xff)); byte $((($4 >> 8) & 0xff)); byte $(($4 >> 16))
                byte 0; byte 0
                if [ $(($4 >> 8)) -eq $((0x0604)) ]; then byte 1; else byte 0; fi
                byte 0
                _i=16
                while [ $_i -lt 64 ]; do byte 0; _i=$((_i + 1)); done
        } >"$1"
}

# set_driver ROOT BDF DRIVER ("" unbinds)
set_driver() {
        _d=$(readlink -f "$1/sys/bus/pci/devices/$2")
        rm -f "$_d/driver"
        if [ -n "$3" ]; then
                mkdir -p "$1/sys/bus/pci/drivers/$3"
                ln -sfn "$(echo "${_d#"$1"/sys/}" | sed 's|[^/]*|..|g')/bus/pci/drivers/$3" "$_d/driver"
        fi
}

# make_host ROOT: an Intel desktop in miniature. Group 1 holds a GPU (vfio-pci) and its audio function
# (snd_hda_intel: a blocker until it is handed to the VM); group 2 an NVMe drive; group 3 a NIC.
make_host() {
        _r=$1
        mkdir -p "$_r/proc" "$_r/sys/class/iommu" "$_r/sys/devices/virtual/iommu/dmar0/intel-iommu"
        printf 'processor\t: 0\nvendor_id\t: GenuineIntel\n\n' >"$_r/proc/cpuinfo"
        : >"$_r/proc/iomem"
        echo d2008c40660462 >"$_r/sys/devices/virtual/iommu/dmar0/intel-iommu/cap"
        echo f050da >"$_r/sys/devices/virtual/iommu/dmar0/intel-iommu/ecap"
        echo 1:0 >"$_r/sys/devices/virtual/iommu/dmar0/intel-iommu/version"
        echo fed90000 >"$_r/sys/devices/virtual/iommu/dmar0/intel-iommu/address"
        ln -sfn ../../devices/virtual/iommu/dmar0 "$_r/sys/class/iommu/dmar0"
        add_device "$_r" pci0000:00 0000:00:00.0 0x8086 0x3e30 0x060000 "" ""
        add_device "$_r" pci0000:00 0000:00:01.0 0x8086 0x1901 0x060400 pcieport 1
        add_device "$_r" pci0000:00/0000:00:01.0 0000:01:00.0 0x10de 0x1b80 0x030000 vfio-pci 1
        add_device "$_r" pci0000:00/0000:00:01.0 0000:01:00.1 0x10de 0x10f0 0x040300 snd_hda_intel 1
        add_device "$_r" pci0000:00 0000:00:1d.0 0x8086 0xa330 0x060400 pcieport 2
        add_device "$_r" pci0000:00/0000:00:1d.0 0000:02:00.0 0x144d 0xa808 0x010802 nvme 2
        add_device "$_r" pci0000:00 0000:00:1f.6 0x8086 0x15bc 0x020000 e1000e 3
}

# spec_json NAME DEVICE...: a minimal JSON VM spec (proto/vm-spec.md).
spec_json() {
        _name=$1
        shift
        _devs=
        for _a in "$@"; do
                _devs="$_devs${_devs:+, }{\"address\": \"$_a\"}"
        done
        printf '{"name": "%s", "machine": "pc-q35-8.2", "memory": "8G", "hostdevs": [%s]}' "$_name" "$_devs"
}
