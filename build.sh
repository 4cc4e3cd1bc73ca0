#!/bin/sh
# build.sh — set up, build and (with "test") test cvene on Debian 12.
#
#   ./build.sh          install what is missing, configure build/, compile
#   ./build.sh test     the same, then run the whole test suite
#
# Extra meson options can be passed in CVENE_MESON_ARGS (e.g. -Dreal=double);
# CVENE_BUILD_DIR picks another build directory. Needs root (or sudo) only
# when packages are missing.
set -eu
cd "$(dirname "$0")"

packages="meson ninja-build pkg-config check libgraphviz-dev graphviz gcc libc6-dev"
missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "build.sh: installing$missing"
    as_root=""
    [ "$(id -u)" -eq 0 ] || as_root="sudo"
    $as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends $missing
fi

dir="${CVENE_BUILD_DIR:-build}"
if [ ! -f "$dir/build.ninja" ]; then
    # shellcheck disable=SC2086
    meson setup "$dir" ${CVENE_MESON_ARGS:-}
fi
ninja -C "$dir"

if [ "${1:-}" = "test" ]; then
    meson test -C "$dir" --print-errorlogs
fi
