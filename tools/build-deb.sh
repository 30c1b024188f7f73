#!/bin/sh
# tools/build-deb.sh [OUTDIR]: builds the Debian package vfiomap_VERSION_ARCH.deb from this source tree into
# OUTDIR (default: the current directory) and prints the .deb's path on its last line.
#
# The build runs in a temporary copy made with `git archive` of the checkout's tracked files, with their
# uncommitted changes (git stash create), so the source tree stays as it was and untracked build trees do
# not leak into the package. Fast: no tests (DEB_BUILD_OPTIONS=nocheck), no debug symbols package, every
# core. Needs the build dependencies of debian/control (tools/install-deps.sh installs them); not root.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-.}" && cd "${1:-.}" && pwd)

command -v dpkg-buildpackage >/dev/null 2>&1 || {
        echo "build-deb.sh: dpkg-buildpackage not found (tools/install-deps.sh installs dpkg-dev and debhelper)" >&2
        exit 1
}
# A tarball unpacked inside some other checkout must not package that one.
if [ "$(git -C "$src" rev-parse --show-toplevel 2>/dev/null)" != "$(cd "$src" && pwd -P)" ]; then
        echo "build-deb.sh: $src is not a git checkout (the copy is made with git archive)" >&2
        exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vfiomap-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# HEAD plus the changes to tracked files not yet committed; HEAD itself when there are none.
rev=$(git -C "$src" stash create 2>/dev/null || true)
rev=${rev:-HEAD}
mkdir "$tmp/vfiomap"
git -C "$src" archive --format=tar "$rev" | tar -x -C "$tmp/vfiomap"

version=$(cd "$tmp/vfiomap" && dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -q DEB_HOST_ARCH)
deb=vfiomap_${version}_${arch}.deb
log=$out/vfiomap_${version}_${arch}.build.log

echo "build-deb.sh: building $deb from $(git -C "$src" rev-parse --short HEAD)$([ "$rev" = HEAD ] || echo ' with uncommitted changes') (log: $log)" >&2
if ! (cd "$tmp/vfiomap" &&
      DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
      dpkg-buildpackage -us -uc -b) >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        echo "build-deb.sh: dpkg-buildpackage failed; the whole output is in $log" >&2
        grep -q 'Unmet build dependencies' "$log" && echo "build-deb.sh: tools/install-deps.sh installs them" >&2
        exit 1
fi

for f in "$tmp"/vfiomap_"$version"_"$arch".*; do
        cp "$f" "$out/"
done
[ -f "$out/$deb" ] || { echo "build-deb.sh: $deb was not built (see $log)" >&2; exit 1; }
echo "$out/$deb"
