#!/usr/bin/env bash
# A software Vulkan device (Mesa's lavapipe) for running the WebGPU execution provider without a GPU.
#
# Dawn (onnxruntime-node's WebGPU provider) refuses Debian 12's Mesa 22.3, so lavapipe comes from
# bookworm-backports, with the libdrm it links; libvulkan1 (the loader) from bookworm. Nothing is installed
# system-wide: apt-get reads a private sources list and state folder, and the packages are unpacked with
# `dpkg -x` into .cache/software-vulkan/. Processes use the device with the variables in its env file:
#   set -a; . .cache/software-vulkan/env; set +a
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="$ROOT/.cache/software-vulkan"
STAMP="$DIR/env"
[ -f "$STAMP" ] && exit 0

APT="$DIR/apt"
mkdir -p "$APT/lists/partial" "$APT/archives/partial" "$DIR/debs" "$DIR/root" "$DIR/runtime"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
cat >"$APT/sources.list" <<EOF
deb [signed-by=$KEYRING] http://deb.debian.org/debian bookworm main
deb [signed-by=$KEYRING] http://deb.debian.org/debian bookworm-backports main
EOF
OPTIONS=(-qq -o "Dir::Etc::SourceList=$APT/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache::Archives=$APT/archives" -o Debug::NoLocking=1)
apt-get "${OPTIONS[@]}" update

# Mesa 24 or later is what Dawn accepts; backports carries one version at a time, so the major is checked
# rather than pinning a build that the archive may have replaced.
MESA="$(apt-cache "${OPTIONS[@]}" madison mesa-vulkan-drivers | awk '/bookworm-backports/ { print $3; exit }')"
case "$MESA" in
2[4-9].* | [3-9][0-9].*) ;;
*)
  echo "software-vulkan: bookworm-backports has no mesa-vulkan-drivers >= 24 (found '${MESA:-none}')" >&2
  exit 1
  ;;
esac
(cd "$DIR/debs" && apt-get "${OPTIONS[@]}" -o APT::Sandbox::User=root download \
  "mesa-vulkan-drivers/bookworm-backports" "libdrm2/bookworm-backports" "libdrm-amdgpu1/bookworm-backports" "libvulkan1/bookworm")
for deb in "$DIR"/debs/*.deb; do dpkg -x "$deb" "$DIR/root"; done

LIBS="$DIR/root/usr/lib/x86_64-linux-gnu"
ICD="$DIR/lvp_icd.json"
sed -E "s#\"library_path\": \"[^\"]*libvulkan_lvp.so\"#\"library_path\": \"$LIBS/libvulkan_lvp.so\"#" \
  "$DIR/root/usr/share/vulkan/icd.d/lvp_icd.json" >"$ICD"
MISSING="$(LD_LIBRARY_PATH="$LIBS" ldd "$LIBS/libvulkan_lvp.so" | awk '/not found/ { print $1 }')"
if [ -n "$MISSING" ]; then
  echo "software-vulkan: lavapipe needs libraries this system lacks: $MISSING" >&2
  exit 1
fi
rm -rf "$DIR/debs" "$APT"
cat >"$STAMP.tmp" <<EOF
VK_ICD_FILENAMES=$ICD
LD_LIBRARY_PATH=$LIBS
XDG_RUNTIME_DIR=$DIR/runtime
EOF
mv "$STAMP.tmp" "$STAMP"
echo "software-vulkan: lavapipe (Mesa $MESA) in .cache/software-vulkan"
