#!/bin/sh
# vfiomapd's integration tests with every daemon they start running under valgrind's memcheck. Each daemon
# process logs to BUILD_DIR/valgrind/vfiomapd.PID.log; the run fails when a log reports an invalid access, a
# use of uninitialised memory or a definite leak. Daemons the fault tests kill with SIGKILL leave logs
# without a summary; those are skipped (valgrind gets no chance to write one).
#
#   tools/check-valgrind.sh [BUILD_DIR]          default: build/ in the source tree, already configured
#   FAULT_CYCLES=N                               kill -9 cycles of test-faults.sh (default here: 10)
#   HOSTILE_CLAIMS=N                             valid claims of test-hostile-bus.sh (default here: 50)
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
logs=$build/valgrind
command -v valgrind >/dev/null || { echo "check-valgrind: valgrind not found (tools/install-deps.sh)" >&2; exit 1; }

rm -rf "$logs"
mkdir -p "$logs"
cat >"$logs/vfiomapd" <<EOW
#!/bin/sh
exec valgrind --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \\
        --log-file=$logs/vfiomapd.%p.log $build/vfiomapd "\$@"
EOW
chmod +x "$logs/vfiomapd"

export FAULT_CYCLES=${FAULT_CYCLES:-10} HOSTILE_CLAIMS=${HOSTILE_CLAIMS:-50} VFIOMAPD_START_TIMEOUT=120
status=0
make -C "$build" check TESTS_ENVIRONMENT="export VFIOMAPD=$logs/vfiomapd;" TESTS="\
        tests/integration/test-daemon.sh tests/integration/test-hotplug.sh tests/integration/test-polkit.sh \
        tests/integration/test-hostile-bus.sh tests/integration/test-faults.sh" || status=$?

complete=0 killed=0 bad=0
for f in "$logs"/vfiomapd.*.log; do
        [ -e "$f" ] || continue
        if grep -q 'ERROR SUMMARY: 0 errors' "$f"; then
                complete=$((complete + 1))
                continue
        fi
        if ! grep -q 'ERROR SUMMARY' "$f" && ! grep -q 'Invalid \|uninitialised\|definitely lost' "$f"; then
                killed=$((killed + 1))
                continue
        fi
        bad=$((bad + 1))
        echo "check-valgrind: $f:" >&2
        sed 's/^/  /' "$f" >&2
done
echo "check-valgrind: $complete daemon runs clean, $bad with errors, $killed killed before valgrind's summary"
[ "$status" -eq 0 ] && [ "$bad" -eq 0 ]
