#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Each committed sample tree tests/hosts/NAME/ must be exactly what tests/mkhost builds from
# tests/hosts/NAME.host today: the same files with the same bytes, the same symlinks with the same
# targets. After changing mkhost.c or a description, run `make regenerate-hosts` and commit the trees
# together with the change.

set -u
: "${top_srcdir:?run through make check}" "${top_builddir:?run through make check}"

hosts=$top_srcdir/tests/hosts
mkhost=$top_builddir/tests/mkhost

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-samples.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

set -- "$hosts"/*.host
echo "1..$#"
n=0
for desc in "$@"; do
        name=$(basename "$desc" .host)
        n=$((n + 1))
        if [ ! -d "$hosts/$name" ]; then
                echo "not ok $n - $name # no committed tree: run make regenerate-hosts"
                continue
        fi
        if ! "$mkhost" "$desc" "$tmp/$name" >"$tmp/log" 2>&1; then
                echo "not ok $n - $name"
                sed 's/^/# /' "$tmp/log"
                continue
        fi
        if diff -r --no-dereference "$hosts/$name" "$tmp/$name" >"$tmp/diff" 2>&1; then
                echo "ok $n - $name"
        else
                echo "not ok $n - $name"
                echo "# the committed tree is not what mkhost builds from $name.host (make regenerate-hosts):"
                head -n 40 "$tmp/diff" | sed 's/^/# /'
        fi
done
exit 0
