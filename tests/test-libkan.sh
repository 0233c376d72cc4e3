#!/bin/sh
# test-libkan.sh BUILD_DIR SOURCE_DIR [EXTRA_CFLAGS]
#
# libkan as another program sees it: installs the build into a temporary folder (meson install
# --destdir), compiles docs/example-libkan.c with nothing but the flags of the installed kan.pc,
# runs it against the installed shared library and checks the formula it prints. EXTRA_CFLAGS
# carries the build's sanitizer flags (an ASan-built library needs an ASan-built program).
set -eu

build=$1
src=$2
extra=${3:-}

cc=$(command -v cc || command -v gcc || command -v clang || true)
if [ -z "$cc" ] || ! command -v pkg-config >/dev/null; then
  echo "SKIP: no C compiler or no pkg-config in PATH"
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail () {
  echo "FAIL: $*"
  exit 1
}

meson install -C "$build" --destdir "$tmp/root" --no-rebuild --quiet >"$tmp/install.log" 2>&1 \
  || { cat "$tmp/install.log"; fail "meson install"; }

# What was installed: the shared library with its soname link, the headers, the .pc file.
pc=$(find "$tmp/root" -name kan.pc | head -n 1)
[ -n "$pc" ] || fail "no kan.pc installed"
prefix=$(sed -n 's/^prefix=//p' "$pc")
[ -n "$prefix" ] || fail "kan.pc has no prefix line"
for h in kan.h kan-version.h kan-model.h kan-train.h kan-lock.h kan-formula.h kan-discover.h; do
  [ -f "$tmp/root$prefix/include/kan/$h" ] || fail "header $h not installed"
done
[ ! -e "$tmp/root$prefix/include/kan/kan-model-private.h" ] || fail "a private header is installed"
libdir=$(dirname "$(dirname "$pc")")
[ -f "$libdir/libkan.so" ] || fail "libkan.so not installed in $libdir"
soname=$(objdump -p "$libdir/libkan.so" 2>/dev/null | sed -n 's/^ *SONAME *//p')
[ "$soname" = "libkan.so.0" ] || fail "soname is '$soname', expected libkan.so.0"
[ -e "$libdir/$soname" ] || fail "$soname not installed"

# The .pc file names the final prefix; point a copy of it at the staged one.
mkdir "$tmp/pc"
sed "s|^prefix=.*|prefix=$tmp/root$prefix|" "$pc" >"$tmp/pc/kan.pc"
export PKG_CONFIG_PATH="$tmp/pc${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
[ "$(pkg-config --modversion kan)" = "$(sed -n 's/^#define KAN_VERSION_STRING "\(.*\)"$/\1/p' \
      "$src/core/kan-version.h")" ] || fail "kan.pc and kan-version.h name different versions"

# The headers must compile cleanly in a program with warnings as errors.
# shellcheck disable=SC2046,SC2086
"$cc" -Wall -Wextra -Werror -o "$tmp/example" "$src/docs/example-libkan.c" $extra \
  $(pkg-config --cflags --libs kan) >"$tmp/cc.log" 2>&1 || { cat "$tmp/cc.log"; fail "compile"; }

# It must use the installed library, not a static copy.
LD_LIBRARY_PATH="$libdir" ldd "$tmp/example" | grep -q "$libdir/libkan.so.0" \
  || fail "the example does not load the installed libkan.so.0"

LD_LIBRARY_PATH="$libdir" OPENBLAS_NUM_THREADS=1 "$tmp/example" >"$tmp/out" 2>&1 \
  || { cat "$tmp/out"; fail "example-libkan failed"; }
cat "$tmp/out"
grep -qx "libkan $(pkg-config --modversion kan)" "$tmp/out" || fail "wrong version line"
grep -qx "pruned to width 2,1,1" "$tmp/out" || fail "pruning did not leave 2,1,1"
grep -qx "locked 3 edges" "$tmp/out" || fail "auto-symbolic did not lock the 3 edges"
grep -qx "formula: exp(sin(pi\*x1) + x2^2)" "$tmp/out" || fail "wrong formula"
echo "PASS"
