# shellcheck shell=bash
# Sourced by the guest sides of the system tests (bash, inside the booted Debian system). They print TAP
# lines without numbers or plan, "ok - ..." / "not ok - ..." with "# " diagnostics; the host side
# (lib.sh, system_boot) numbers them and adds the plan, so a guest that dies half-way is still counted.

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }
diag() { sed 's/^/# /'; }

# check DESCRIPTION COMMAND...: one test point from the command's status; its output is the diagnostic.
check() {
        local description=$1 output
        shift
        if output=$("$@" 2>&1); then
                ok "$description"
        else
                not_ok "$description"
                [ -z "$output" ] || printf '%s\n' "$output" | diag
        fi
}

expect_equal() { # GOT WANT
        [ "$1" = "$2" ] || { echo "expected: $2"; echo "got:      $1"; return 1; }
}

expect_match() { # TEXT EXTENDED-REGEX
        grep -Eq -- "$2" <<<"$1" || { echo "expected to match: $2"; echo "got:"; printf '%s\n' "$1"; return 1; }
}

# wait_until SECONDS COMMAND...: polls every 0.2 s until COMMAND succeeds; fails after SECONDS.
wait_until() {
        local deadline=$((SECONDS + $1))
        shift
        until "$@" >/dev/null 2>&1; do
                [ "$SECONDS" -lt "$deadline" ] || return 1
                sleep 0.2
        done
}

unit_property() { # UNIT PROPERTY
        systemctl show --value -p "$2" "$1"
}

driver_of() { # BDF: the bound driver's name, "-" when unbound
        local d
        d=$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null) || d=-
        echo "${d##*/}"
}

group_of() { # BDF
        local g
        g=$(readlink "/sys/bus/pci/devices/$1/iommu_group") || return 1
        echo "${g##*/}"
}

# check_bind_unbind BDF: `vfiomapctl bind-vfio group N` of BDF's group through the running service, then
# `unbind`: four test points on what the kernel then shows.
check_bind_unbind() {
        local bdf=$1 group driver_before out st
        group=$(group_of "$bdf")
        driver_before=$(driver_of "$bdf")
        out=$(vfiomapctl bind-vfio group "$group" 2>&1)
        st=$?
        check "vfiomapctl bind-vfio group $group through the service exits 0" expect_equal "$st" 0
        printf '%s\n' "$out" | diag
        check "the kernel bound $bdf to vfio-pci and /dev/vfio/$group appeared" expect_equal \
                "$(driver_of "$bdf") $(test -e "/dev/vfio/$group" && echo yes)" "vfio-pci yes"
        out=$(vfiomapctl unbind group "$group" 2>&1)
        st=$?
        check "vfiomapctl unbind group $group exits 0" expect_equal "$st" 0
        printf '%s\n' "$out" | diag
        check "$bdf is back on $driver_before" expect_equal "$(driver_of "$bdf")" "$driver_before"
}

# The last test point of every boot: vfiomapd logged no error (priority err or worse) in the whole boot.
check_daemon_logged_no_error() {
        check "vfiomapd logged no error in this boot" \
                test -z "$(journalctl -b --no-pager -u vfiomapd -p err | grep -v '^-- ')"
}
