#!/bin/sh
# The documentation says what the code does: every vfiomapctl verb (client/vfiomapctl.c's verb table) is
# in vfiomapctl(1), its --help and the bash completion; every member of the bus API (proto/*.xml) is in
# org.vfiomap1(5); every vfiomapd option is in vfiomapd(8).
. "$top_srcdir/tests/lib.sh"

command -v xmllint >/dev/null 2>&1 || skip_all "xmllint not found (tools/install-deps.sh installs it)"

verbs=$(sed -n 's/^ *{ "\([a-z-]*\)", [0-9].*/\1/p' "$top_srcdir/client/vfiomapctl.c")
[ -n "$verbs" ] || { echo "Bail out! no verbs found in client/vfiomapctl.c"; exit 1; }
for v in $verbs; do
        # groff writes "-" as "\-".
        roff=$(echo "$v" | sed 's/-/\\\\-/g')
        ok "vfiomapctl(1) documents $v" grep -q "^\.B[IR]* *\"*$roff\b" "$top_srcdir/man/vfiomapctl.1"
        ok "--help lists $v" sh -c "'$VFIOMAPCTL' --help | grep -q '^  $v\b'"
        ok "bash completion knows $v" grep -q "\b$v\b" "$top_srcdir/shell-completion/bash/vfiomapctl"
done

for f in "$top_srcdir"/proto/org.vfiomap1.*.xml; do
        iface=$(xmllint --xpath 'string(//interface/@name)' "$f")
        for m in $(xmllint --xpath '//method/@name | //property/@name | //signal/@name' "$f" | sed 's/ *name="\([^"]*\)"/\1\n/g'); do
                ok "org.vfiomap1(5) documents $iface.$m" grep -q "^\.B \"*$m\b" "$top_srcdir/man/org.vfiomap1.5"
        done
done

for o in $(sed -n 's/^ *{ "\([a-z-]*\)", [a-z_]*argument.*/\1/p' "$top_srcdir/daemon/vfiomapd.c"); do
        roff=$(echo "$o" | sed 's/-/\\\\-/g')
        ok "vfiomapd(8) documents --$o" grep -q "\\\\-\\\\-$roff" "$top_srcdir/man/vfiomapd.8"
done

done_testing
