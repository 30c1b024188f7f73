# shellcheck shell=sh
# Sourced by the guest sides of the daemon tests (guest-daemon-*.sh), inside the test guest: a private
# system bus, `busctl monitor` recording vfiomapd's signals, and vfiomapd itself on the guest's real /sys
# and udev, all under a scratch directory in the guest's /tmp (the guest's tmpfs overlay). Like
# tests/integration/lib-bus.sh on the host, minus umockdev. Few processes: each costs ~35 ms under TCG.
#
# Expects VFIOMAPD, VFIOMAPCTL, BUSCTL and DBUS_DAEMON (run-guest --env) and OUT (the host's directory).
#   guest_bus_start      bus, monitor, vfiomapd; returns once vfiomapd owns org.vfiomap1 (1 on failure)
#   guest_bus_stop       stops all three, copies the signal log and the daemon's log into OUT
#   wait_for_signal MEMBER COUNT SECONDS   until COUNT signals MEMBER from vfiomapd were recorded
#   nth_signal MEMBER N  the payload of the Nth one: "ADDRESS OBJECT" for DeviceAdded/DeviceRemoved
#   wait_for_text TEXT COUNT SECONDS       until COUNT recorded signals contain TEXT (busctl's JSON, e.g.
#                        '"Driver":{"type":"s","data":"vfio-pci"}')
#   publish NAME         OUT/NAME.new -> OUT/NAME (the host polls for OUT/NAME)

guest_tmp=/tmp/vfiomap-guest
signals=$guest_tmp/signals.json
bus_pid=
monitor_pid=
daemon_pid=

publish() {
        mv "$OUT/$1.new" "$OUT/$1"
}

# Polls every 50 ms (coreutils sleep takes fractions) until TEST succeeds or SECONDS have passed by the
# guest's clock: under TCG a poll that runs a process costs 100-300 ms, so counting polls would not do.
wait_until() { # SECONDS TEST...
        read -r _now _ </proc/uptime
        _deadline=$((${_now%.*} + $1))
        shift
        while ! "$@"; do
                read -r _now _ </proc/uptime
                [ "${_now%.*}" -lt "$_deadline" ] || return 1
                sleep 0.05
        done
}

first_line_has() { # FILE TEXT, without a process
        _line=
        [ -s "$1" ] && read -r _line <"$1"
        case "$_line" in *"$2"*) return 0 ;; esac
        return 1
}

signal_count() { # MEMBER
        grep -c "\"member\":\"$1\"" "$signals" 2>/dev/null
}

signal_count_reached() { # MEMBER COUNT
        [ "$(signal_count "$1")" -ge "$2" ]
}

wait_for_signal() { # MEMBER COUNT SECONDS
        wait_until "$3" signal_count_reached "$1" "$2"
}

text_count_reached() { # TEXT COUNT
        [ "$(grep -cF "$1" "$signals" 2>/dev/null)" -ge "$2" ]
}

wait_for_text() { # TEXT COUNT SECONDS
        wait_until "$3" text_count_reached "$1" "$2"
}

# busctl --json=short monitor prints each message as one line; a DeviceAdded's payload data is
# ["ADDRESS","OBJECT"]: the two strings after "data":[ .
nth_signal() { # MEMBER N
        grep "\"member\":\"$1\"" "$signals" |
                sed -n "$2{s/.*\"data\":\[\"\([^\"]*\)\",\"\([^\"]*\)\".*/\1 \2/p;q}"
}

guest_bus_start() {
        mkdir -p "$guest_tmp/run"
        cat >"$guest_tmp/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$guest_tmp/system_bus_socket</listen>
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
EOF
        # --fork returns once the bus listens.
        "$DBUS_DAEMON" --config-file="$guest_tmp/bus.conf" --fork --print-pid=3 --print-address=4 \
                3>"$guest_tmp/bus.pid" 4>"$guest_tmp/bus.address" \
                </dev/null >/dev/null 2>"$guest_tmp/bus.log" ||
                return 1
        read -r bus_pid <"$guest_tmp/bus.pid"
        read -r DBUS_SYSTEM_BUS_ADDRESS <"$guest_tmp/bus.address"
        export DBUS_SYSTEM_BUS_ADDRESS

        # The monitor comes first, so that it sees vfiomapd take its name: that line is the signal to go on,
        # and no signal of the daemon can be missed. busctl says "Monitoring bus message stream." once it
        # is a monitor; a match on a well-known sender follows whoever owns the name.
        "$BUSCTL" --json=short monitor \
                --match "type='signal',sender='org.vfiomap1'" \
                --match "type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged',\
arg0='org.vfiomap1'" \
                </dev/null >"$signals" 2>"$guest_tmp/monitor.log" &
        monitor_pid=$!
        wait_until 30 first_line_has "$guest_tmp/monitor.log" "Monitoring" || return 1

        "$VFIOMAPD" --runtime-dir="$guest_tmp/run" --no-libvirt --debug \
                </dev/null >"$guest_tmp/daemon.log" 2>&1 &
        daemon_pid=$!
        wait_until 120 signal_count_reached NameOwnerChanged 1
}

guest_bus_stop() {
        for _pid in $daemon_pid $monitor_pid $bus_pid; do
                kill "$_pid" 2>/dev/null
        done
        for _pid in $daemon_pid $monitor_pid; do
                wait "$_pid" 2>/dev/null
        done
        cp "$signals" "$OUT/signals.json" 2>/dev/null
        cp "$guest_tmp/daemon.log" "$OUT/daemon.log" 2>/dev/null
        daemon_pid='' monitor_pid='' bus_pid=''
}

# describe NAME: vfiomapd's Describe() (proto/host-json.md plus machines) into OUT/NAME.new.
describe() {
        "$BUSCTL" --json=short call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Describe >"$OUT/$1.new"
}

# kernel_groups: the group numbers the kernel has right now, on one line.
kernel_groups() {
        _groups=
        for _g in /sys/kernel/iommu_groups/*; do
                _groups="$_groups ${_g##*/}"
        done
        echo "${_groups# }"
}

# kernel_group_of BDF: the device's iommu_group number, "-" without one.
kernel_group_of() {
        _g=$(cd -P "/sys/bus/pci/devices/$1/iommu_group" 2>/dev/null && pwd) || _g=-
        echo "${_g##*/}"
}
