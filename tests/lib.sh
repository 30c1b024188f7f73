# Shared helpers for the shell tests: TAP output and temporary directories that clean themselves up.
# Source it: . "$top_srcdir/tests/lib.sh"

tap_n=0
tap_failed=0

# ok DESCRIPTION COMMAND...: runs COMMAND, passes when it exits 0.
ok() {
        _desc=$1
        shift
        tap_n=$((tap_n + 1))
        if "$@"; then
                echo "ok $tap_n - $_desc"
        else
                echo "not ok $tap_n - $_desc"
                tap_failed=$((tap_failed + 1))
        fi
}

# is GOT WANT DESCRIPTION
is() {
        tap_n=$((tap_n + 1))
        if [ "$1" = "$2" ]; then
                echo "ok $tap_n - $3"
        else
                echo "not ok $tap_n - $3"
                printf '#   got:      %s\n#   expected: %s\n' "$1" "$2"
                tap_failed=$((tap_failed + 1))
        fi
}

skip_all() {
        echo "1..0 # SKIP $1"
        exit 0
}

done_testing() {
        echo "1..$tap_n"
        [ "$tap_failed" -eq 0 ]
}

# A temporary directory removed on exit, in $tmp.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vfiomap-test.XXXXXX")
cleanup_tmp() {
        rm -rf "$tmp"
}
trap cleanup_tmp EXIT
