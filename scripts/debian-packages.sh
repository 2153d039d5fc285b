#!/usr/bin/env bash
# Debian packages the tests use: Pillow (python3-pil) with numpy is the official preprocessing pipeline that the
# edge's image code must match byte for byte; emscripten builds edge/image/decode/libjpeg/libjpeg.wasm, which a
# test rebuilds with scripts/libjpeg-wasm.sh.
set -euo pipefail
if /usr/bin/python3 -c "import PIL, numpy" 2>/dev/null && command -v emcc >/dev/null; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pil python3-numpy emscripten >/dev/null
else
  echo "The tests need Debian's python3-pil, python3-numpy and emscripten: sudo apt-get install -y python3-pil python3-numpy emscripten" >&2
  exit 1
fi
