#!/bin/bash
# Guest side of check-service.sh, inside the booted Debian system where the vfiomap package was installed
# before systemd started: the service as systemd, dbus-daemon and polkitd run it. Prints TAP lines
# (guest-lib.sh); exits 0 unless the script itself breaks.
set -u
# shellcheck source=tests/system/guest-lib.sh
. "$(dirname "$0")/guest-lib.sh"

nic=0000:01:00.0 # e1000e below root port rp1, alone in its group (tests/vm/README.md)
edu=0000:02:00.0 # edu below rp2, driverless, alone in its group
deb=$(ls /mnt/out/.install/vfiomap_*.deb)

# ---- the service as the package left it ----
wait_until 60 systemctl is-active --quiet vfiomapd
check "vfiomapd.service is active after boot" expect_equal "$(systemctl is-active vfiomapd)" active
check "enabled by the package's postinst" expect_equal "$(systemctl is-enabled vfiomapd)" enabled
check "Type=notify, running, no restart" expect_equal \
        "$(unit_property vfiomapd Type) $(unit_property vfiomapd SubState) $(unit_property vfiomapd NRestarts)" \
        "notify running 0"
check "started before libvirtd.service (its Before=)" \
        test "$(unit_property vfiomapd ActiveEnterTimestampMonotonic)" -le \
        "$(unit_property libvirtd ActiveEnterTimestampMonotonic)"
check "ExecStartPre= loaded vfio-pci outside the sandbox" test -d /sys/module/vfio_pci
main_pid=$(unit_property vfiomapd MainPID)
status=$(busctl status org.vfiomap1 2>&1)
check "busctl status org.vfiomap1 on the system bus: vfiomapd's main PID $main_pid" \
        expect_match "$status" "^PID=$main_pid\$"
check "and its unit is vfiomapd.service" expect_match "$status" '^Unit=vfiomapd.service$'
check "vfiomapctl groups (from the service) equals vfiomapctl --root / groups" \
        expect_equal "$(vfiomapctl groups 2>&1)" "$(vfiomapctl --root / groups 2>&1)"
check "vfiomapctl devices (from the service) equals vfiomapctl --root / devices" \
        expect_equal "$(vfiomapctl devices 2>&1)" "$(vfiomapctl --root / devices 2>&1)"
check "vfiomapctl status says the daemon is connected to libvirt" \
        expect_match "$(vfiomapctl status 2>&1)" '[Ll]ibvirt.*(connected|yes)'

# ---- the sandbox lets every verb through: sysfs writes ----
check_bind_unbind "$nic"

# ---- kill -9: systemd restarts it ----
kill -9 "$main_pid"
wait_until 30 test "$(unit_property vfiomapd NRestarts)" = 1 -a "$(systemctl is-active vfiomapd)" = active
check "after kill -9 systemd restarted vfiomapd (NRestarts 1, active)" expect_equal \
        "$(unit_property vfiomapd NRestarts) $(systemctl is-active vfiomapd)" "1 active"
new_pid=$(unit_property vfiomapd MainPID)
check "the new process ($new_pid) owns org.vfiomap1" \
        expect_match "$(busctl status org.vfiomap1 2>&1)" "^PID=$new_pid\$"

# ---- stopped, then started again by a bus call ----
systemctl stop vfiomapd
check "systemctl stop vfiomapd: inactive" expect_equal "$(systemctl is-active vfiomapd)" inactive
out=$(busctl call org.vfiomap1 /org/vfiomap1 org.freedesktop.DBus.Peer Ping 2>&1)
st=$?
check "a bus call to org.vfiomap1 while it is stopped succeeds (D-Bus activation)" expect_equal "$st" 0
printf '%s\n' "$out" | diag
check "dbus-daemon had systemd start vfiomapd.service (through dbus-org.vfiomap1.service)" \
        expect_equal "$(systemctl is-active vfiomapd)" active
check "vfiomapctl groups works again" expect_equal "$(vfiomapctl groups >/dev/null 2>&1; echo $?)" 0

# ---- a short watchdog: the daemon keeps pinging ----
mkdir -p /run/systemd/system/vfiomapd.service.d
printf '[Service]\nWatchdogSec=2s\n' >/run/systemd/system/vfiomapd.service.d/50-watchdog.conf
systemctl daemon-reload
systemctl restart vfiomapd
pid=$(unit_property vfiomapd MainPID)
restarts=$(unit_property vfiomapd NRestarts)
check "WatchdogSec=2s drop-in in effect" expect_equal "$(unit_property vfiomapd WatchdogUSec)" 2s
sleep 10
check "no watchdog restart over 5 intervals (same PID, same NRestarts, running)" expect_equal \
        "$(unit_property vfiomapd MainPID) $(unit_property vfiomapd NRestarts) $(unit_property vfiomapd SubState)" \
        "$pid $restarts running"
check "the journal has no watchdog timeout" \
        test -z "$(journalctl -b --no-pager -u vfiomapd | grep -i 'watchdog timeout')"
rm -r /run/systemd/system/vfiomapd.service.d
systemctl daemon-reload

# ---- polkit: the real polkitd with the shipped action ----
edu_group=$(group_of "$edu")
out=$(runuser -u tester -- vfiomapctl bind-vfio group "$edu_group" 2>&1)
st=$?
check "as user tester, bind-vfio group $edu_group is refused" test "$st" != 0
printf '%s\n' "$out" | diag
check "the refusal names the authorization" expect_match "$out" '[Aa]uthoriz|[Aa]ccess denied|not allowed|polkit'
check "and nothing was bound ($edu stays driverless)" expect_equal "$(driver_of "$edu")" -
cat >/etc/polkit-1/rules.d/50-vfiomap-admins.rules <<'RULES'
polkit.addRule(function(action, subject) {
        if (action.id == "org.vfiomap1.manage" && subject.isInGroup("vfiomap-admins"))
                return polkit.Result.YES;
});
RULES
usermod -a -G vfiomap-admins tester
# polkitd reloads rules.d on change (inotify); give it a moment.
granted() { runuser -u tester -- vfiomapctl bind-vfio group "$edu_group" >/tmp/polkit-bind.out 2>&1; }
wait_until 20 granted
check "with a rule granting org.vfiomap1.manage to vfiomap-admins, tester's bind-vfio succeeds" \
        expect_equal "$(driver_of "$edu")" vfio-pci
diag </tmp/polkit-bind.out
check "and tester's unbind too" runuser -u tester -- vfiomapctl unbind group "$edu_group"
rm -f /etc/polkit-1/rules.d/50-vfiomap-admins.rules

# ---- the package on a running system ----
out=$(dpkg -r vfiomap 2>&1)
st=$?
check "dpkg -r vfiomap on the running system exits 0" expect_equal "$st" 0
printf '%s\n' "$out" | diag
check "removal stopped the service and took the client and the unit away" expect_equal \
        "$(systemctl is-active vfiomapd) $(test -e /usr/bin/vfiomapctl && echo client-left || echo client-gone)" \
        "inactive client-gone"
# The hook is a conffile and stays until purge: without the client it must let VMs start.
hook_without_client() {
        [ ! -e /etc/libvirt/hooks/qemu.d/50-vfiomap ] ||
                /etc/libvirt/hooks/qemu.d/50-vfiomap vm prepare begin - </dev/null
}
check "the hook left behind lets a VM start (exit 0)" hook_without_client
out=$(dpkg -i "$deb" 2>&1)
st=$?
check "dpkg -i again exits 0" expect_equal "$st" 0
printf '%s\n' "$out" | diag
check "the postinst started vfiomapd on the running system" expect_equal "$(systemctl is-active vfiomapd)" active
check "and org.vfiomap1 answers" busctl call org.vfiomap1 /org/vfiomap1 org.freedesktop.DBus.Peer Ping
check_daemon_logged_no_error
journalctl -b --no-pager -o short-monotonic >/mnt/out/journal.txt
exit 0
