#!/usr/bin/env bash
# Debian packages the tests use as references: Pillow (python3-pil) with numpy is the official
# preprocessing pipeline that the edge's image code must match byte for byte.
set -euo pipefail
if /usr/bin/python3 -c "import PIL, numpy" 2>/dev/null; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pil python3-numpy >/dev/null
else
  echo "The tests need Debian's python3-pil and python3-numpy: sudo apt-get install -y python3-pil python3-numpy" >&2
  exit 1
fi
