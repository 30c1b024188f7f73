#!/bin/sh
# The whole test suite, as CI runs it: install what is needed, build out of tree, run every test, and end
# with one line "N passed, N failed, N skipped". Exits non-zero on any failure.
#
#   tools/run-tests.sh            everything (installs packages first; needs root)
#   NO_INSTALL=1 tools/run-tests.sh   skip the apt-get step on a prepared machine
#   BUILD_DIR=DIR                  where to build (default: build/ in the source tree)
#   ASAN_BUILD_DIR=DIR             where the sanitizer build goes (default: build-asan/ in the source tree)
#   SANITIZERS=0                   skip the second run, in the sanitizer build
#
# The suite runs twice: in a plain build, then in a --enable-sanitizers build (AddressSanitizer, LeakSanitizer
# and UndefinedBehaviorSanitizer, any report fails the test) where everything runs again, the daemon's
# integration tests under umockdev and the real-kernel VM tests included, except test-libvirt.sh (libvirt's
# RPC cannot run under ASan here, see below) and the system tests (they run the Debian package). The summary
# counts both runs. On 2 cores: about 15 minutes.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$src/build}
jobs=$(nproc 2>/dev/null || echo 2)

if [ "${NO_INSTALL:-0}" != 1 ]; then
        if [ "$(id -u)" -ne 0 ]; then
                echo "run-tests: installing packages needs root (or set NO_INSTALL=1)" >&2
                exit 1
        fi
        "$src/tools/install-deps.sh"
fi

[ -x "$src/configure" ] || (cd "$src" && ./autogen.sh >/dev/null)
mkdir -p "$build"
cd "$build"
[ -f Makefile ] || "$src/configure" --quiet
make -j"$jobs" >/dev/null

status=0
make -j"$jobs" check || status=$?
dirs=$build

if [ "${SANITIZERS:-1}" != 0 ]; then
        asan=${ASAN_BUILD_DIR:-$src/build-asan}
        mkdir -p "$asan"
        cd "$asan"
        [ -f Makefile ] || "$src/configure" --quiet --enable-sanitizers
        make -j"$jobs" >/dev/null
        # The tests' programs are instrumented, the preload libraries (umockdev's) are not: ASan must not insist
        # on coming first. Leaks are reported at exit; a UBSan report aborts like an ASan one.
        export ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1
        export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
        export LSAN_OPTIONS=suppressions=$src/tests/lsan.supp
        # Every test but test-libvirt.sh and tests/system/, read from the Makefile itself. test-libvirt.sh
        # cannot run instrumented: ASan's XDR interceptors find no xdr_* functions in Debian 12's glibc
        # (libvirt takes them from libtirpc), and vfiomapd's first libvirt RPC jumps to address 0 through one
        # of them (ASan: "failed to intercept 'xdr_...'", llvm-project issue 81470). The system tests install
        # the Debian package, built without sanitizers whatever the build tree: a second run would test the
        # same binaries again.
        tests=$(printf 'print-tests:\n\t@echo $(TESTS)\n' | make -s -f Makefile -f - print-tests | tail -n 1 |
                tr ' ' '\n' | grep -v -e '^tests/integration/test-libvirt\.sh$' -e '^tests/system/' | tr '\n' ' ')
        make -j"$jobs" check TESTS="$tests" || status=$?
        dirs="$dirs $asan"
fi

# Count test cases, not programs: every TAP line leaves one ":test-result:" in a .trs file.
count() {
        # shellcheck disable=SC2086 # $dirs is a list
        find $dirs -name '*.trs' -exec grep -h "^:test-result: $1" {} + 2>/dev/null | wc -l
}
pass=$(( $(count PASS) + $(count XFAIL) ))
fail=$(( $(count FAIL) + $(count ERROR) + $(count XPASS) ))
skip=$(count SKIP)
if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then
        fail=1 # the build of the tests itself failed
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$status" -eq 0 ]
