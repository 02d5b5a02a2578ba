#!/usr/bin/env bash
# Packs what scripts/device-check.sh needs on a lent NVIDIA machine, which has no Rust toolchain,
# no Vulkan loader and no network: the release binary, stripped (about 14 MB: the device tool
# carries at most 64 MiB), in .device/, and the Vulkan loader's Debian package in .gl/. Both
# folders are git-ignored through .git/info/exclude, so the device call names them in `carry`:
#   run(command="bash scripts/device-check.sh", carry=[".device", ".gl"], timeout_s=540)
# Usage: scripts/device-pack.sh   (on the development machine, from any folder)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p taosim-cli
mkdir -p .device
strip -o .device/taosim target/release/taosim
exclude="$(git rev-parse --git-path info/exclude)"
mkdir -p "$(dirname "$exclude")"
for dir in /.device/ /.gl/; do
  grep -qxF "$dir" "$exclude" 2>/dev/null || echo "$dir" >>"$exclude"
done
if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  # The amd64 package whatever this machine's architecture (the device is x86-64), with apt's
  # lists kept out of the system's.
  mkdir -p .gl /tmp/taosim-apt-amd64/partial
  opts=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/taosim-apt-amd64)
  apt-get "${opts[@]}" update >/dev/null
  (cd .gl && apt-get "${opts[@]}" download libvulkan1)
fi
ls -la .device/taosim .gl/*.deb
# The device runs this binary as built here: it needs the glibc version printed below or newer.
if command -v objdump >/dev/null; then
  echo "needs: $(objdump -T .device/taosim | grep -o 'GLIBC_[0-9.]*' | sort -V | tail -1)"
fi
