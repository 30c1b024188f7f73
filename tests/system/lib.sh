# shellcheck shell=bash
# Sourced by the system tests (tests/system/check-*.sh, bash, on the host): the Debian image and the .deb
# they boot, and one boot whose guest side prints TAP lines that are numbered here.

# shellcheck source=tests/vm/lib.sh
. "${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/vm/lib.sh"

system_dir=$top_srcdir/tests/system
system_cache=${VFIOMAP_SYSTEM_CACHE:-$top_builddir/tests/system/cache}
system_deb=

# Skips the whole test when something it needs is truly missing (tools/install-deps.sh installs all of it).
system_require() {
        vm_require_tools mmdebstrap dpkg-buildpackage git flock
        if [ "$(id -u)" != 0 ]; then
                echo "1..0 # SKIP building the system image needs root (mmdebstrap --mode=root)"
                exit 0
        fi
        if ! git -C "$top_srcdir" rev-parse --git-dir >/dev/null 2>&1; then
                echo "1..0 # SKIP $top_srcdir is not a git checkout (tools/build-deb.sh packages one)"
                exit 0
        fi
}

# The package of this source tree, tracked files as they are now (committed or not), built once per tree:
# both system tests install the same .deb.
build_system_deb() {
        local dir=$top_builddir/tests/system/deb tree
        mkdir -p "$dir"
        exec 6>"$dir/.lock"
        flock 6
        tree=$(git -C "$top_srcdir" stash create 2>/dev/null || true)
        tree=$(git -C "$top_srcdir" rev-parse "${tree:-HEAD}^{tree}")
        if [ "$(cat "$dir/tree" 2>/dev/null)" != "$tree" ] || ! ls "$dir"/vfiomap_*.deb >/dev/null 2>&1; then
                rm -f "$dir"/vfiomap_* "$dir/tree"
                "$top_srcdir/tools/build-deb.sh" "$dir" >"$dir/build-deb.out" 2>&1 || {
                        cat "$dir/build-deb.out" >&2
                        exec 6>&-
                        return 1
                }
                echo "$tree" >"$dir/tree"
        fi
        exec 6>&-
        ls "$dir"/vfiomap_*.deb
}

# Everything a boot needs, or a failed test point saying what did not work (then the test ends).
system_prepare() {
        local log=$top_builddir/tests/system/prepare.log
        mkdir -p "${log%/*}"
        if ! "$system_dir/prepare-image.sh" "$system_cache" >"$log" 2>&1; then
                tap_not_ok "the Debian 12 system image builds (tests/system/prepare-image.sh)"
                tap_diag <"$log"
                tap_finish
                exit 1
        fi
        if ! system_deb=$(build_system_deb 2>"$log"); then
                tap_not_ok "the vfiomap package builds (tools/build-deb.sh)"
                tap_diag <"$log"
                tap_finish
                exit 1
        fi
}

# The host directories the guest sees at their own paths: the source tree (guest scripts, domain XML) and
# the build tree (the working directory), once each when one holds the other.
system_shares() {
        local src build
        src=$(cd "$top_srcdir" && pwd -P)
        build=$(cd "$top_builddir" && pwd -P)
        echo "$src"
        case "$build/" in "$src"/*) ;; *) echo "$build" ;; esac
}

# system_boot NAME TIMEOUT GUEST_SCRIPT [ARG...]: boots the image with the package installed, runs
# GUEST_SCRIPT as the check service, and turns its "ok - " / "not ok - " lines into numbered TAP; the
# boot itself is one more test point (its time is in the description, for tests/system/README.md).
# What the guest wrote (its journal, virsh output) goes to a temporary directory, removed at exit, or with
# VFIOMAP_SYSTEM_KEEP=DIR to DIR/NAME, kept.
# The vCPU has 46 physical address bits, as a server's: libvirt refuses a nested guest whose
# <maxphysaddr mode='emulate' bits=> exceeds the host's, and TCG's default is 40.
system_out=
# More for QEMU's command line, as run-guest --qemu-arg ARG pairs (a check script adds devices with it).
system_qemu_args=()
system_boot() {
        local name=$1 timeout=$2 out line status=0 started=$SECONDS
        shift 2
        if [ -n "${VFIOMAP_SYSTEM_KEEP:-}" ]; then
                out=$VFIOMAP_SYSTEM_KEEP/$name
                rm -rf "$out"
        else
                out=$(mktemp -d "${TMPDIR:-/tmp}/check-$name.XXXXXX")
                system_out=$out
                trap 'rm -rf "$system_out"' EXIT
        fi
        local -a share_args=()
        while read -r line; do share_args+=(--share "$line"); done < <(system_shares)
        mkdir -p "$out"
        VFIOMAP_VM_CACHE=$system_cache "$run_guest" --image "$system_cache/root" --install "$system_deb" \
                "${share_args[@]}" --out "$out" --memory "${SYSTEM_MEMORY:-3G}" --timeout "$timeout" \
                --cpu max,phys-bits=46 --variant "${SYSTEM_VARIANT:-intel}" \
                "${system_qemu_args[@]}" \
                ${SYSTEM_CONSOLE:+--console} \
                -- bash "$@" >"$out/guest.tap" 2>"$out/guest.err" || status=$?
        while IFS= read -r line; do
                case "$line" in
                "ok - "*) tap_ok "${line#ok - }" ;;
                "not ok - "*) tap_not_ok "${line#not ok - }" ;;
                "#"*) echo "$line" ;;
                *) echo "# $line" ;;
                esac
        done <"$out/guest.tap"
        if [ "$status" = 0 ]; then
                tap_ok "$name: booted Debian 12 with systemd and ran its checks ($((SECONDS - started)) s)"
        else
                tap_not_ok "$name: the guest exited with status $status after $((SECONDS - started)) s"
                tap_diag <"$out/guest.err"
                [ ! -f "$out/.install/dpkg.log" ] || tap_diag <"$out/.install/dpkg.log"
        fi
}
