#!/usr/bin/env bash
# Recipe: the default microVM kernel, built from Debian's linux-source-6.1 with microvm.config
# merged onto tinyconfig. Output: $1/vmlinux (uncompressed ELF with the PVH note: QEMU microvm
# and Firecracker both boot it directly, no decompression, no initramfs).
# Cache key: this script + microvm.config + the source tarball's name and size.
set -euo pipefail
out=${1:?usage: kernel-microvm.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
src=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n 1)
[ -n "$src" ] || { echo "linux-source-6.1 is not installed" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xf "$src" -C "$work"
cd "$work"/linux-source-6.1
make -s ARCH=x86_64 tinyconfig
KCONFIG_CONFIG=.config scripts/kconfig/merge_config.sh -m -O . .config "$here/microvm.config" >/dev/null
make -s ARCH=x86_64 olddefconfig
# Every option we asked for must have survived dependency resolution.
missing=0
while IFS= read -r line; do
  case $line in CONFIG_*=*) grep -qxF "$line" .config || { echo "kernel config: $line did not stick" >&2; missing=1; } ;; esac
done < "$here/microvm.config"
[ $missing -eq 0 ] || exit 1
make -s ARCH=x86_64 -j"$(nproc)" vmlinux
mkdir -p "$out"
cp vmlinux "$out/vmlinux"
cp .config "$out/config"
make -s kernelrelease > "$out/version"
