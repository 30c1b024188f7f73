#!/bin/sh
# The system files: the unit passes systemd-analyze verify, the bus policy and polkit policy are valid
# XML, and the activation file names the unit.
. "$top_srcdir/tests/lib.sh"

command -v systemd-analyze >/dev/null 2>&1 || skip_all "systemd-analyze not found (tools/install-deps.sh installs systemd)"
command -v xmllint >/dev/null 2>&1 || skip_all "xmllint not found (tools/install-deps.sh installs libxml2-utils)"

# The unit as make install writes it, pointing at the built binary so verify finds ExecStart.
sed "s|@sbindir@|$top_builddir|g" "$top_srcdir/systemd/vfiomapd.service.in" >"$tmp/vfiomapd.service"
out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$tmp/vfiomapd.service" 2>&1)
ok "systemd-analyze verify vfiomapd.service" [ $? -eq 0 ]
[ -z "$out" ] || echo "$out" | sed 's/^/# /'
ok "Type=notify with BusName" sh -c "grep -q '^Type=notify' '$tmp/vfiomapd.service' && grep -q '^BusName=org.vfiomap1' '$tmp/vfiomapd.service'"
ok "the claims survive a stop" grep -q '^RuntimeDirectoryPreserve=yes' "$tmp/vfiomapd.service"
ok "org.vfiomap1.conf is valid XML" xmllint --noout "$top_srcdir/systemd/org.vfiomap1.conf"
ok "org.vfiomap1.policy is valid XML" xmllint --noout "$top_srcdir/systemd/org.vfiomap1.policy"
ok "the policy defines org.vfiomap1.manage" grep -q 'action id="org.vfiomap1.manage"' "$top_srcdir/systemd/org.vfiomap1.policy"
ok "activation goes through systemd" grep -q '^SystemdService=dbus-org.vfiomap1.service' \
        "$top_srcdir/systemd/org.vfiomap1.service.in"
ok "the unit provides that alias" grep -q '^Alias=dbus-org.vfiomap1.service' "$tmp/vfiomapd.service"
for x in Manager Device Group Machine; do
        ok "proto/org.vfiomap1.$x.xml is valid XML" xmllint --noout "$top_srcdir/proto/org.vfiomap1.$x.xml"
done
done_testing
