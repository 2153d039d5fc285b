#!/usr/bin/env bash
# Builds edge/image/decode/libjpeg/libjpeg.wasm: libjpeg-turbo 2.1.5 with Debian's patches (the library Debian 12's
# Pillow links) and the files beside it: its SIMD dispatch with WebAssembly SIMD kernels that compute exactly what
# its C does (simd.c, in place of jsimd_none.c, which it includes), the streaming shim (decoder.c) and Pillow's resize
# on the rows it gives (resize.c), by Debian's emscripten 3.1.6, as a standalone module with no JavaScript glue.
# Every build also runs simd-check.c, which compares the SIMD kernels with libjpeg's C on random input. `--check`
# builds into the scratch folder only and fails unless the result is byte for byte the committed module.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$ROOT/edge/image/decode/libjpeg
WORK=$ROOT/.cache/libjpeg-wasm
SOURCE_VERSION=1:2.1.5-2

if ! command -v emcc >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq emscripten >/dev/null
  else
    echo "libjpeg-wasm: needs Debian's emscripten: sudo apt-get install -y emscripten" >&2
    exit 1
  fi
fi
# Debian's emcc runs its JavaScript tools with the system node and finds their modules here.
export NODE_PATH=/usr/share/nodejs

# The source package through a private deb-src list: no change to the system's apt configuration.
rm -rf "$WORK/src" "$WORK/build" && mkdir -p "$WORK/apt/lists/partial" "$WORK/apt/cache/archives/partial" "$WORK/src" "$WORK/build"
cat >"$WORK/apt/source.sources" <<SOURCES
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
APT=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$WORK/apt" -o "Dir::State::Lists=$WORK/apt/lists" -o "Dir::Cache=$WORK/apt/cache")
(cd "$WORK" && apt-get -qq "${APT[@]}" update && apt-get -qq "${APT[@]}" source --download-only "libjpeg-turbo=$SOURCE_VERSION") >/dev/null 2>&1
tar -xzf "$WORK/libjpeg-turbo_2.1.5.orig.tar.gz" -C "$WORK/src" --strip-components=1
tar -xJf "$WORK/libjpeg-turbo_2.1.5-2.debian.tar.xz" -C "$WORK/src"
for patch in $(grep -v '^#' "$WORK/src/debian/patches/series"); do patch -d "$WORK/src" -p1 -s <"$WORK/src/debian/patches/$patch"; done

cd "$WORK/build"
emcmake cmake ../src -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS=-O2 -DBUILD=20230208 -DWITH_SIMD=0 -DENABLE_SHARED=0 \
  -DENABLE_STATIC=1 -DWITH_TURBOJPEG=0 -DWITH_JAVA=0 -DWITH_ARITH_DEC=1 -DWITH_ARITH_ENC=0 >cmake.log 2>&1
# CMake's size_t probe fails under emscripten (it reports 9): wasm32's size_t is 4 bytes.
sed -i 's/#define SIZEOF_SIZE_T .*/#define SIZEOF_SIZE_T  4/' jconfigint.h
emmake make -j"$(nproc)" jpeg-static >make.log

exports=$(cat "$DIR/decoder.c" "$DIR/resize.c" | grep -o '^[a-zA-Z_0-9 ]*\*\? *\(decoder\|resize\)_[a-z_]*(' |
  sed 's/.*\(\(decoder\|resize\)_[a-z_]*\)(/"_\1"/' | paste -sd, -)
# simd.c comes before the library, so the linker never takes the library's own jsimd_none.o.
emcc -O2 -msimd128 -I ../src -I . "$DIR/simd.c" "$DIR/decoder.c" "$DIR/resize.c" libjpeg.a -o libjpeg.wasm --no-entry -sSTANDALONE_WASM=1 -sFILESYSTEM=0 \
  -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=1048576 -sMAXIMUM_MEMORY=134217728 -sTOTAL_STACK=65536 \
  -sEXPORTED_FUNCTIONS="[$exports]"

# The SIMD kernels against libjpeg's C on random input (simd-check.c): no module unless they are equal.
emcc -O2 -msimd128 -I ../src -I . "$DIR/simd-check.c" "$DIR/simd-check-upsample.c" "$DIR/simd.c" libjpeg.a -o simd-check.cjs \
  -sENVIRONMENT=node -sSINGLE_FILE=1
node simd-check.cjs

if [ "${1:-}" = "--check" ]; then
  if cmp -s libjpeg.wasm "$DIR/libjpeg.wasm"; then echo "libjpeg-wasm: the build reproduces $DIR/libjpeg.wasm"; exit 0; fi
  echo "libjpeg-wasm: the build differs from the committed $DIR/libjpeg.wasm (run scripts/libjpeg-wasm.sh and commit)" >&2
  exit 1
fi
cp libjpeg.wasm "$DIR/libjpeg.wasm"
echo "libjpeg-wasm: wrote $DIR/libjpeg.wasm ($(stat -c %s libjpeg.wasm) bytes)"
