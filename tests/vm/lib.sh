# shellcheck shell=bash
# Sourced by the tests in tests/vm/ (bash): TAP output, the tools a guest boot needs, and waiting on a guest
# that runs in the background. Expects top_srcdir and top_builddir (set by `make check`; the defaults suit
# running a test by hand from the build directory).

top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
top_builddir=${top_builddir:-$PWD}
export top_srcdir top_builddir

vm_dir=$top_srcdir/tests/vm
# The VM tests and the system tests (tests/system) boot one guest at a time between them.
mkdir -p "$top_builddir/tests"
export VFIOMAP_VM_BOOT_LOCK=${VFIOMAP_VM_BOOT_LOCK:-$top_builddir/tests/.vm-boot-lock}
run_guest=$vm_dir/run-guest
qmp=$vm_dir/qmp

tap_count=0
tap_failed=0

tap_ok() {
        tap_count=$((tap_count + 1))
        echo "ok $tap_count - $1"
}

tap_not_ok() {
        tap_count=$((tap_count + 1))
        tap_failed=$((tap_failed + 1))
        echo "not ok $tap_count - $1"
}

tap_skip() {
        tap_count=$((tap_count + 1))
        echo "ok $tap_count - $1 # SKIP $2"
}

# Indented '# ' lines: TAP comments, shown in the test's .log.
tap_diag() {
        sed 's/^/# /'
}

# check DESCRIPTION COMMAND...: one test point from a command's exit status; its output becomes diagnostics.
check() {
        local description=$1 output
        shift
        if output=$("$@" 2>&1); then
                tap_ok "$description"
        else
                tap_not_ok "$description"
                [ -z "$output" ] || tap_diag <<<"$output"
        fi
}

expect_equal() { # GOT WANT
        [ "$1" = "$2" ] || { echo "expected: $2"; echo "got:      $1"; return 1; }
}

tap_finish() {
        echo "1..$tap_count"
        [ "$tap_failed" = 0 ]
}

# VFIOMAPCTL (set by `make check`) names a built client.
have_vfiomapctl() {
        [ -n "${VFIOMAPCTL:-}" ] && [ -x "$VFIOMAPCTL" ]
}

# The whole test is skipped only when a tool is truly missing; CI installs them all (tools/install-deps.sh).
vm_require_tools() {
        local tool missing=
        for tool in qemu-system-x86_64 cpio depmod modprobe dpkg-deb apt-get jq socat timeout "$@"; do
                command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
        done
        [ -x /bin/busybox ] || missing="$missing busybox-static"
        if [ -n "$missing" ]; then
                echo "1..0 # SKIP missing:$missing (tools/install-deps.sh installs them)"
                exit 0
        fi
}

# wait_for_file PATH PID SECONDS: until PATH exists; fails early when PID (the background run-guest) exits.
wait_for_file() {
        local path=$1 pid=$2 deadline=$((SECONDS + $3))
        while [ ! -e "$path" ]; do
                kill -0 "$pid" 2>/dev/null || return 1
                [ "$SECONDS" -lt "$deadline" ] || return 1
                sleep 0.1
        done
}
