#!/bin/sh
# check_freestanding.sh LIBRARY — proves the core static library is
# freestanding: it may leave undefined only memcpy, memmove, memset and
# memcmp, and in a -Dfreestanding=true build it must define those itself.
# Prints the undefined symbols (the CI log shows them).
set -eu
lib="$1"
freestanding="$2"
# Undefined in some member and defined in none. _GLOBAL_OFFSET_TABLE_ is
# made by the linker for position-independent code, not a library call.
nm -u "$lib" | awk 'NF >= 2 && $1 == "U" { print $2 }' | sort -u > "${TMPDIR:-/tmp}/vn_undef.$$"
nm --defined-only "$lib" | awk 'NF >= 3 { print $3 }' | sort -u > "${TMPDIR:-/tmp}/vn_def.$$"
undefined=$(comm -23 "${TMPDIR:-/tmp}/vn_undef.$$" "${TMPDIR:-/tmp}/vn_def.$$" | grep -v '^_GLOBAL_OFFSET_TABLE_$' || true)
rm -f "${TMPDIR:-/tmp}/vn_undef.$$" "${TMPDIR:-/tmp}/vn_def.$$"
echo "undefined symbols of $(basename "$lib"): $(echo ${undefined:-(none)})"
bad=$(printf '%s\n' "$undefined" | grep -v -E '^(memcpy|memmove|memset|memcmp)?$' || true)
if [ -n "$bad" ]; then
    echo "FAIL: the core calls outside itself:"
    printf '  %s\n' $bad
    exit 1
fi
if [ "$freestanding" = "true" ]; then
    for f in memcpy memmove memset memcmp; do
        if ! nm --defined-only "$lib" | grep -q " T $f\$"; then
            echo "FAIL: -Dfreestanding=true but the core does not define $f"
            exit 1
        fi
    done
    if [ -n "$undefined" ]; then
        echo "FAIL: a freestanding core must have no undefined symbols"
        exit 1
    fi
fi
echo "ok: the core is freestanding"
