#!/bin/sh
# vfiomapd with --root on a private system bus: queries, Describe against the offline client, claims and
# conflicts, persistence across restart and kill -9, authorization, read-only refusals, and proto/ against
# what the daemon introspects.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/lib-bus.sh"

need "$DBUS_DAEMON" "$BUSCTL" jq setpriv
make_host "$tmp/host"
# Group 3 (the NIC) gets a firmware 1:1 region: no VM can ever have it (claims below).
printf '0x0000000000000000 0x0000000000ffffff direct\n0x00000000fee00000 0x00000000feefffff msi\n' \
        >"$tmp/host/sys/kernel/iommu_groups/3/reserved_regions"
start_bus
ok "vfiomapd starts and owns org.vfiomap1" start_daemon --root="$tmp/host"

# ---- queries ----
is "$(vprop /org/vfiomap1 org.vfiomap1.Manager NDevices)" "u 7" "NDevices"
is "$(vprop /org/vfiomap1 org.vfiomap1.Manager NGroups)" "u 3" "NGroups"
is "$(vprop /org/vfiomap1 org.vfiomap1.Manager IommuAddressWidth)" "i 39" "IommuAddressWidth from dmar0's cap"
is "$(vprop /org/vfiomap1 org.vfiomap1.Manager InterruptRemapping)" 's "yes"' "InterruptRemapping from ecap"
is "$(vprop /org/vfiomap1 org.vfiomap1.Manager ReadOnly)" "b true" "--root is read-only"
ok "ListGroups is a readable structured array" sh -c \
        "'$BUSCTL' call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager ListGroups | grep -q '^a(uasbso) 3 1 3 \"0000:00:01.0\"'"
ok "ListDevices names drivers" sh -c \
        "'$BUSCTL' call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager ListDevices | grep -q '\"snd_hda_intel\" 1'"
dev=$(vcall GetDevice s 01:00.1 | cut -d'"' -f2)
is "$dev" "/org/vfiomap1/device/_30000_3a01_3a00_2e1" "GetDevice: path built with sd_bus_path_encode"
# The List* replies format their object paths themselves (*_object_path_format() in manager.c): the paths
# GetDevice and GetGroup return, and the viability Group.Viable says.
is "$("$BUSCTL" --json=short call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager ListDevices |
        jq -r '.data[0][] | select(.[0] == "0000:01:00.1") | .[7]')" "$dev" "ListDevices: GetDevice's object path"
is "$("$BUSCTL" --json=short call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager ListGroups |
        jq -r '.data[0][] | select(.[0] == 1) | "\(.[4]) \(.[2])"')" \
        "$(vcall GetGroup u 1 | cut -d'"' -f2) $(vprop /org/vfiomap1/group/1 org.vfiomap1.Group Viable | cut -d' ' -f2)" \
        "ListGroups: GetGroup's object path and Group.Viable"
is "$(vprop "$dev" org.vfiomap1.Device Driver)" 's "snd_hda_intel"' "Device.Driver"
is "$(vprop /org/vfiomap1/group/1 org.vfiomap1.Group Blockers)" 'a(ss) 1 "0000:01:00.1" "snd_hda_intel"' \
        "Group.Blockers"
ok "busctl tree lists device, group and machine objects" sh -c \
        "'$BUSCTL' tree org.vfiomap1 | grep -q /org/vfiomap1/group/3"

# Describe's host members are the offline encoder's output, byte for byte after normalisation (pci.ids
# names are the client's own, added to either).
vcall_json Describe >"$tmp/describe.json"
for what in devices groups iommu; do
        "$VFIOMAPCTL" --root="$tmp/host" "$what" --json=short 2>/dev/null |
                jq -S 'if type == "array" then map(del(.vendor_name, .device_name)) else . end' >"$tmp/offline-$what.json"
        jq -S ".$what" "$tmp/describe.json" >"$tmp/daemon-$what.json"
        ok "Describe.$what equals vfiomapctl --root $what --json" cmp -s "$tmp/offline-$what.json" "$tmp/daemon-$what.json"
done
is "$(jq -c '.machines' "$tmp/describe.json")" "[]" "Describe has no machines yet"

# ---- layouts and claims ----
gpu=$(spec_json win11 0000:01:00.0 0000:01:00.1)
is "$(vcall_json ComputeLayout s "$gpu" | jq -r .vm)" "win11" "ComputeLayout returns the layout JSON"
ok "ComputeLayout of a broken spec is InvalidSpec" sh -c \
        "'$BUSCTL' call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager ComputeLayout s '{\"machine\": 1}' 2>&1 | grep -q 'Invalid VM spec'"

out=$(vcall Claim ss win11 "$(spec_json win11 0000:01:00.0)" 2>&1)
case $out in *"Group 1 (0000:00:01.0, 0000:01:00.0, 0000:01:00.1) is not viable for machine win11: 0000:01:00.1 is bound to snd_hda_intel"*) r=0 ;; *) r=1 ;; esac
ok "GroupNotViable names the group, its members and the blocking driver" [ $r -eq 0 ]
out=$(vcall Claim ss other "$gpu" 2>&1)
ok "Claim with a name other than the spec's is refused" sh -c "echo '$out' | grep -q 'called other but its spec names win11'"

spec_json win11 0000:01:00.0 >"$tmp/win11-audio-missing.json"
"$VFIOMAPCTL" claim win11 "$tmp/win11-audio-missing.json" >/dev/null 2>"$tmp/claim.err"
is "$?" 11 "claim of a VM that does not fit: exit 11, as vfiomapctl(1) says"
ok "... with vfiomapd's reason" grep -q "0000:01:00.1 is bound to snd_hda_intel" "$tmp/claim.err"

# ---- every reason a claim fails, those no change of the VM or its drivers can fix first ----
cat >"$tmp/pch.xml" <<EOF
<domain type='kvm'><name>pch</name><memory unit='GiB'>4</memory>
<os><type arch='x86_64' machine='pc-q35-8.2'>hvm</type></os><devices>
<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='1' slot='0' function='0'/></source></hostdev>
<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='0' slot='0x1f' function='6'/></source></hostdev>
<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='9' slot='0' function='0'/></source></hostdev>
</devices></domain>
EOF
"$VFIOMAPCTL" claim pch "$tmp/pch.xml" >"$tmp/claim.out" 2>"$tmp/claim.err"
is "$?" 11 "claim with several reasons: exit 11"
is "$(sed -n 1p "$tmp/claim.err")" "vfiomapctl: pch cannot claim its IOMMU groups:" "claim: one heading"
ok "claim: first the missing device" sh -c "sed -n 2p '$tmp/claim.err' | grep -q 'Device 0000:09:00.0 of machine pch does not exist'"
ok "claim: then the direct region no driver change fixes" sh -c "sed -n 3p '$tmp/claim.err' | grep -q 'Group 3 has a direct (firmware 1:1) region 0x0-0xffffff'"
ok "claim: then the host driver to unbind" sh -c "sed -n 4p '$tmp/claim.err' | grep -q '0000:01:00.1 is bound to snd_hda_intel'"
ok "claim: and the layout's error last" sh -c "sed -n 5p '$tmp/claim.err' | grep -q 'Guest RAM 0x0-0x7fffffff overlaps 0x0-0xffffff, direct region of group 3'"
is "$(wc -l <"$tmp/claim.err")" 5 "claim: every reason, each once"
[ "$(wc -l <"$tmp/claim.err")" -eq 5 ] || sed 's/^/#   /' "$tmp/claim.err"
printf 'bus = %s\n' "$DBUS_SYSTEM_BUS_ADDRESS" >"$tmp/hook.conf"
VFIOMAP_HOOK_CONF=$tmp/hook.conf "$VFIOMAPCTL" libvirt-hook -- pch prepare begin - <"$tmp/pch.xml" 2>"$tmp/hook.err"
is "$?" 1 "the hook stops the start"
ok "hook: the missing device first" sh -c "sed -n 1p '$tmp/hook.err' | grep -q '^vfiomap: Device 0000:09:00.0 of machine pch does not exist'"
ok "hook: the direct region before the driver" sh -c "sed -n 2p '$tmp/hook.err' | grep -q '^vfiomap: Group 3 has a direct' &&
        sed -n 3p '$tmp/hook.err' | grep -q '^vfiomap: .*0000:01:00.1 is bound to snd_hda_intel'"
ok "hook: the hint on a line of its own" sh -c "sed -n 5p '$tmp/hook.err' | grep -q '^vfiomap: Correct the <hostdev> address'"
is "$(vprop /org/vfiomap1 org.vfiomap1.Manager NMachines)" "u 0" "nothing was claimed"

# A document that is not UTF-8 cannot go over the bus: claim says what layout says.
printf "<domain type='kvm'><name>caf\351</name><memory unit='GiB'>4</memory></domain>" >"$tmp/latin1.xml"
"$VFIOMAPCTL" claim cafe "$tmp/latin1.xml" >/dev/null 2>"$tmp/claim-latin1.err"
is "$?" 1 "claim of a non-UTF-8 document: exit 1"
"$VFIOMAPCTL" --root "$tmp/host" layout "$tmp/latin1.xml" >/dev/null 2>"$tmp/layout-latin1.err"
ok "claim of a non-UTF-8 document: layout's message" cmp -s "$tmp/claim-latin1.err" "$tmp/layout-latin1.err"
[ $? -eq 0 ] || sed 's/^/#   /' "$tmp/claim-latin1.err" "$tmp/layout-latin1.err"

"$BUSCTL" monitor --match "type='signal',interface='org.vfiomap1.Manager'" >"$tmp/monitor.log" 2>&1 &
monitor_pid=$!
sleep 0.3
ok "Claim win11 (GPU and its audio function)" sh -c "'$BUSCTL' call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Claim ss win11 '$gpu' >/dev/null"
is "$(vprop /org/vfiomap1/group/1 org.vfiomap1.Group Owner)" 's "win11"' "Group.Owner"
is "$(vprop /org/vfiomap1/machine/win11 org.vfiomap1.Machine State)" 's "claimed"' "Machine.State"
is "$(vprop "$dev" org.vfiomap1.Device Owner)" 's "win11"' "Device.Owner"
# A QEMU holding /dev/vfio/1 in the host tree: the clients print its name beside its PID.
mkdir -p "$tmp/host/proc/4242/fd" "$tmp/host/dev/vfio"
: >"$tmp/host/dev/vfio/1"
ln -s /dev/vfio/1 "$tmp/host/proc/4242/fd/21"
echo qemu-system-x86 >"$tmp/host/proc/4242/comm"
is "$("$VFIOMAPCTL" machine win11 | grep 'Users:')" "    Users: pid 4242 (qemu-system-x86, group 1)" \
        "vfiomapctl machine: the user's process name beside its PID"
is "$(vcall_json Describe | jq -c '.machines[0].users')" '[{"group":1,"pid":4242,"comm":"qemu-system-x86"}]' \
        "Describe: machines[].users[] have a comm"
is "$("$VFIOMAPCTL" group 1 | grep '^VFIO:')" "VFIO: /dev/vfio/1, open by PID 4242 (qemu-system-x86)" \
        "vfiomapctl group: the process name beside the PID, from the daemon's model"
rm -rf "$tmp/host/proc/4242" "$tmp/host/dev"
out=$(vcall Claim ss linux "$(spec_json linux 0000:01:00.0 0000:01:00.1)" 2>&1)
case $out in *"Group 1 (0000:00:01.0, 0000:01:00.0, 0000:01:00.1) is owned by machine win11 (claimed 20"*) r=0 ;; *) r=1 ;; esac
ok "a second claim on group 1 fails with GroupOwned naming the owner" [ $r -eq 0 ]
[ $r -eq 0 ] || echo "# $out"
ok "Claim of a missing device is DeviceNotFound" sh -c \
        "'$BUSCTL' call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Claim ss x '$(spec_json x 0000:09:00.0)' 2>&1 | grep -q 'Device 0000:09:00.0 of machine x does not exist'"
is "$(vcall_json CheckHotplug ss win11 0000:02:00.0 | jq -c '[.possible, .group]')" "[true,2]" \
        "CheckHotplug: the NVMe drive could be added"
is "$(vcall_json CheckHotplug ss win11 0000:02:00.0 | jq -c .assigned)" "false" "CheckHotplug: win11 has no NVMe drive"
is "$(vcall_json CheckHotplug ss win11 0000:01:00.0 | jq -c '[.possible, .assigned, [.problems[].code]]')" \
        '[false,true,["already-assigned"]]' "CheckHotplug of a device the machine holds: already assigned, not possible"
out=$("$VFIOMAPCTL" check-hotplug win11 01:00.0 2>&1)
r=$?
is "$out" "Hot-adding 0000:01:00.0 (IOMMU group 1) to win11: not needed, win11 already has it." \
        "vfiomapctl check-hotplug says the device is already there"
is "$r" 11 "... with exit status 11, as for a hot-add that cannot be done"
# managed='no' (or no managed=, which libvirt reads as no): libvirt leaves the device on its host driver, so
# a VM whose own device is on nvme cannot start; managed='yes' devices libvirt rebinds itself. (The NVMe
# drive: group 3's NIC has the direct region above, which no driver change fixes.)
nic_xml() { # NAME MANAGED-ATTRIBUTE
        printf "<domain type='kvm'><name>%s</name><memory unit='GiB'>4</memory>" "$1"
        printf "<os><type arch='x86_64' machine='pc-q35-8.2'>hvm</type></os><devices>"
        printf "<hostdev mode='subsystem' type='pci' %s><source>" "$2"
        printf "<address domain='0x0000' bus='0x02' slot='0x00' function='0x0'/></source></hostdev></devices></domain>"
}
nic_error="is not viable for machine nic: 0000:02:00.0 is bound to nvme and its <hostdev> has managed='no'"
out=$(vcall Claim ss nic "$(nic_xml nic "managed='no'")" 2>&1)
case $out in *"$nic_error"*) r=0 ;; *) r=1 ;; esac
ok "Claim: a managed='no' device on a host driver is GroupNotViable naming device and driver" [ $r -eq 0 ]
[ $r -eq 0 ] || echo "# $out"
out=$(vcall Claim ss nic "$(nic_xml nic "")" 2>&1)
case $out in *"$nic_error"*) r=0 ;; *) r=1 ;; esac
ok "Claim: without managed= likewise (libvirt's default is no)" [ $r -eq 0 ]
nic_xml nic "managed='no'" >"$tmp/nic.xml"
out=$("$VFIOMAPCTL" claim nic "$tmp/nic.xml" 2>&1)
r=$?
case $out in *"$nic_error"*) r2=0 ;; *) r2=1 ;; esac
ok "vfiomapctl claim fails with that message and exit status 11 (the VM does not fit)" [ "$r:$r2" = 11:0 ]
printf 'bus = %s\nruntime-dir = %s\n' "$DBUS_SYSTEM_BUS_ADDRESS" "$tmp/run" >"$tmp/hook.conf"
out=$(VFIOMAP_HOOK_CONF="$tmp/hook.conf" "$VFIOMAPCTL" libvirt-hook -- nic prepare begin - <"$tmp/nic.xml" 2>&1)
r=$?
case $out in "vfiomap: Group 2 "*"$nic_error"*"vfiomapctl bind-vfio"*) r2=0 ;; *) r2=1 ;; esac
ok "the qemu hook stops the start at prepare with that message" [ "$r:$r2" = 1:0 ]
[ $r2 -eq 0 ] || echo "# $out"
ok "Claim: managed='yes' is claimed, libvirt rebinds the device" \
        sh -c "'$BUSCTL' call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Claim ss nic \"\$1\" >/dev/null" - \
        "$(nic_xml nic "managed='yes'")"
vcall Release s nic >/dev/null
ok "claims.json was written" test -s "$tmp/run/claims.json"
ok "no temporary file is left behind" sh -c "! ls -A '$tmp/run' | grep -q '^\.#'"

# ---- persistence ----
stop_daemon
ok "restarted daemon" start_daemon --root="$tmp/host"
is "$(vcall ListMachines)" 'a(ssauo) 1 "win11" "claimed" 1 1 "/org/vfiomap1/machine/win11"' "the claim survives a restart"
kill9_daemon
ok "daemon restarted after kill -9" start_daemon --root="$tmp/host"
is "$(vprop /org/vfiomap1/group/1 org.vfiomap1.Group Owner)" 's "win11"' "the claim survives kill -9"
is "$(jq -r '.machines[0].machine' "$tmp/run/claims.json")" "win11" "claims.json holds the claim"

# ---- authorization ----
nobody() {
        setpriv --reuid=65534 --regid=65534 --clear-groups env DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" "$@"
}
ok "an unprivileged caller may query" sh -c "$(command -v setpriv) --reuid=65534 --regid=65534 --clear-groups \
        '$BUSCTL' call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager ListMachines >/dev/null"
out=$(nobody "$BUSCTL" call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Release s win11 2>&1)
case $out in *"Not authorized"*|*"Access denied"*) r=0 ;; *) r=1 ;; esac
ok "an unprivileged Release is AccessDenied" [ $r -eq 0 ]
out=$(nobody "$BUSCTL" call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Claim ss vm3 "$(spec_json vm3 0000:00:1f.6)" 2>&1)
case $out in *"Not authorized"*|*"Access denied"*) r=0 ;; *) r=1 ;; esac
ok "an unprivileged Claim is AccessDenied" [ $r -eq 0 ]
is "$(vprop /org/vfiomap1 org.vfiomap1.Manager NMachines)" "u 1" "nothing changed"
out=$(vcall GetDevice s 00:1f.6 | cut -d'"' -f2)
out=$("$BUSCTL" call org.vfiomap1 "$out" org.vfiomap1.Device BindDriver s vfio-pci 2>&1)
case $out in *"does not bind drivers"*) r=0 ;; *) r=1 ;; esac
ok "BindDriver with --root is ReadOnly" [ $r -eq 0 ]

# ---- release ----
ok "Release win11" sh -c "'$BUSCTL' call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Release s win11 >/dev/null"
ok "Release is idempotent" sh -c "'$BUSCTL' call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Release s win11 >/dev/null"
is "$(vprop /org/vfiomap1/group/1 org.vfiomap1.Group Owner)" 's ""' "group 1 is free again"
is "$(jq -c '.machines' "$tmp/run/claims.json")" "[]" "claims.json is empty again"
sleep 0.3
stop_pid "$monitor_pid"
ok "MachineNew was signalled" grep -q 'Member=MachineNew' "$tmp/monitor.log"
ok "MachineRemoved was signalled" grep -q 'Member=MachineRemoved' "$tmp/monitor.log"

# ---- proto/ is what the daemon exports ----
vcall Claim ss win11 "$gpu" >/dev/null
for pair in Manager:/org/vfiomap1 Device:$dev Group:/org/vfiomap1/group/1 Machine:/org/vfiomap1/machine/win11; do
        iface=${pair%%:*}
        "$top_builddir/tests/integration/test-introspect" "$top_srcdir/proto/org.vfiomap1.$iface.xml" "${pair#*:}" \
                >"$tmp/introspect.tap"
        r=$?
        n=$(grep -c '^ok' "$tmp/introspect.tap")
        ok "proto/org.vfiomap1.$iface.xml matches the daemon ($n checks)" [ $r -eq 0 ]
        [ $r -eq 0 ] || grep '^not ok\|^#' "$tmp/introspect.tap"
done

# ---- a corrupt claims file stops the start rather than losing claims ----
stop_daemon
echo '{"version": 1, "machines": [{"machine": "a", "claimed_at": 1, "groups": [1], "devices": [], "spec": "", "layout": ""}, {"machine": "b", "claimed_at": 1, "groups": [1], "devices": [], "spec": "", "layout": ""}]}' >"$tmp/run/claims.json"
"$VFIOMAPD" --root="$tmp/host" --runtime-dir="$tmp/run" >"$tmp/corrupt.log" 2>&1
ok "a claims file giving one group to two machines is refused" [ $? -ne 0 ]
ok "the message names both machines" grep -q "group 1 is claimed by both a and b" "$tmp/corrupt.log"

# ---- issue 13's host facts on the bus: tests/hosts/workstation ----
rm -rf "$tmp/run"
ok "vfiomapd starts on the workstation sample" start_daemon --root="$top_srcdir/tests/hosts/workstation"
path_of() { vcall GetDevice s "$1" | cut -d'"' -f2; }
is "$(vprop "$(path_of 02:00.0)" org.vfiomap1.Device ResetMethods)" 'as 2 "flr" "bus"' "ResetMethods from reset_method"
is "$(vprop "$(path_of 00:14.0)" org.vfiomap1.Device ResetMethods)" 'as 1 "flr"' "ResetMethods from config space"
is "$(vprop "$(path_of 01:00.0)" org.vfiomap1.Device PowerState)" 's "D3hot"' "PowerState"
is "$(vprop "$(path_of 01:00.0)" org.vfiomap1.Device BootVga)" "i 1" "BootVga"
is "$(vprop "$(path_of 01:00.0)" org.vfiomap1.Device BarClaims)" 'a(ustt) 1 1 "BOOTFB" 292057776128 292066070527' \
        "BarClaims: the firmware framebuffer in BAR 1"
is "$(vprop "$(path_of 01:00.0)" org.vfiomap1.Device RomSysfs)" 's "present"' "RomSysfs"
is "$(vprop "$(path_of 02:00.0)" org.vfiomap1.Device VfioCdev)" 's "vfio0"' "VfioCdev"
# A QEMU on iommufd holds the device's cdev, not /dev/vfio/4: it is the group's user all the same.
is "$(vprop /org/vfiomap1/group/4 org.vfiomap1.Group Users)" "au 1 5150" "Group.Users counts the holder of a VFIO cdev"
vcall Claim ss fd "{\"name\": \"fd\", \"machine\": \"q35\", \"memory\": \"4G\", \"hostdevs\": [\"02:00.0\"]}" >/dev/null
is "$(vprop /org/vfiomap1/machine/fd org.vfiomap1.Machine Users)" "a(uu) 1 4 5150" "Machine.Users counts it too"
# 03:00.1 (port 1) in machine nic1: the bus reset that port 0 would need is another VM's business.
vcall Claim ss nic1 "{\"name\": \"nic1\", \"machine\": \"q35\", \"memory\": \"4G\", \"hostdevs\": [\"03:00.1\"]}" >/dev/null
vcall_json ComputeLayout s "{\"name\": \"nic0\", \"machine\": \"q35\", \"memory\": \"4G\", \"hostdevs\": [\"03:00.0\"]}" \
        >"$tmp/nic0.json"
is "$(jq -r '.problems[] | select(.code == "bus-reset-not-owned") | .message' "$tmp/nic0.json" | grep -o '0000:03:00.1 (group 7) belongs to machine nic1.')" \
        "0000:03:00.1 (group 7) belongs to machine nic1." "bus-reset-not-owned names the machine owning the other device"

done_testing
