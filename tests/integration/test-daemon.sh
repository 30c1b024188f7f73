#!/bin/sh
# vfiomapd with --root on a private system bus: queries, Describe against the offline client, claims and
# conflicts, persistence across restart and kill -9, authorization, read-only refusals, and proto/ against
# what the daemon introspects.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/lib-bus.sh"

need "$DBUS_DAEMON" "$BUSCTL" jq setpriv
make_host "$tmp/host"
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

"$BUSCTL" monitor --match "type='signal',interface='org.vfiomap1.Manager'" >"$tmp/monitor.log" 2>&1 &
monitor_pid=$!
sleep 0.3
ok "Claim win11 (GPU and its audio function)" sh -c "'$BUSCTL' call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Claim ss win11 '$gpu' >/dev/null"
is "$(vprop /org/vfiomap1/group/1 org.vfiomap1.Group Owner)" 's "win11"' "Group.Owner"
is "$(vprop /org/vfiomap1/machine/win11 org.vfiomap1.Machine State)" 's "claimed"' "Machine.State"
is "$(vprop "$dev" org.vfiomap1.Device Owner)" 's "win11"' "Device.Owner"
out=$(vcall Claim ss linux "$(spec_json linux 0000:01:00.0 0000:01:00.1)" 2>&1)
case $out in *"Group 1 (0000:00:01.0, 0000:01:00.0, 0000:01:00.1) is owned by machine win11 (claimed 20"*) r=0 ;; *) r=1 ;; esac
ok "a second claim on group 1 fails with GroupOwned naming the owner" [ $r -eq 0 ]
[ $r -eq 0 ] || echo "# $out"
ok "Claim of a missing device is DeviceNotFound" sh -c \
        "'$BUSCTL' call org.vfiomap1 /org/vfiomap1 org.vfiomap1.Manager Claim ss x '$(spec_json x 0000:09:00.0)' 2>&1 | grep -q 'Device 0000:09:00.0 of machine x does not exist'"
is "$(vcall_json CheckHotplug ss win11 0000:02:00.0 | jq -c '[.possible, .group]')" "[true,2]" \
        "CheckHotplug: the NVMe drive could be added"
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

done_testing
