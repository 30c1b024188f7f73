#!/bin/sh
# The whole test suite, as CI runs it: install what is needed, build out of tree, run every test, and end
# with one line "N passed, N failed, N skipped". Exits non-zero on any failure.
#
#   tools/run-tests.sh            everything (installs packages first; needs root)
#   NO_INSTALL=1 tools/run-tests.sh   skip the apt-get step on a prepared machine
#   BUILD_DIR=DIR                  where to build (default: build/ in the source tree)
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

# Count test cases, not programs: every TAP line leaves one ":test-result:" in a .trs file.
count() {
        find . -name '*.trs' -exec grep -h "^:test-result: $1" {} + 2>/dev/null | wc -l
}
pass=$(( $(count PASS) + $(count XFAIL) ))
fail=$(( $(count FAIL) + $(count ERROR) + $(count XPASS) ))
skip=$(count SKIP)
if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then
        fail=1 # the build of the tests itself failed
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$status" -eq 0 ]
