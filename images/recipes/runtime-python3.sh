#!/usr/bin/env bash
# Recipe: the python3 runtime rootfs (ext4) = the base busybox rootfs + Debian bookworm's Python 3.11
# and the libraries it and its standard extension modules link against, all as .debs from Debian's
# archive (`apt-get download`, unpacked with `dpkg -x`): no debootstrap, no chroot, no loop mount.
# Output: $1/rootfs.ext4 and $1/version. The recipe's sha256 and the base rootfs key are the cache key.
set -euo pipefail
out=${1:?usage: runtime-python3.sh OUTDIR BASE_ROOTFS_EXT4}
base=${2:?usage: runtime-python3.sh OUTDIR BASE_ROOTFS_EXT4}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
r=$work/root
mkdir -p "$r" "$work/debs"
debugfs -R "rdump / $r" "$base" >/dev/null 2>&1

pkgs=(
  libc6 libgcc-s1 zlib1g libexpat1 libffi8 libssl3 libbz2-1.0 liblzma5 libsqlite3-0
  libuuid1 libncursesw6 libtinfo6 libreadline8 libcrypt1 libdb5.3 libnsl2 libtirpc3
  libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0 libcom-err2 libkeyutils1
  python3.11-minimal libpython3.11-minimal libpython3.11-stdlib python3.11 python3-minimal python3
  media-types tzdata
)
(cd "$work/debs" && apt-get download -qq "${pkgs[@]}" >/dev/null)
for d in "$work"/debs/*.deb; do dpkg -x "$d" "$r"; done
# Debian's merged /usr: /lib and /lib64 are links into /usr, as the loader paths expect.
for l in lib lib64; do
  if [ -d "$r/$l" ] && [ ! -L "$r/$l" ] && [ -d "$r/usr/$l" ]; then
    cp -a "$r/$l/." "$r/usr/$l/" && rm -rf "${r:?}/$l" && ln -s "usr/$l" "$r/$l"
  elif [ ! -e "$r/$l" ] && [ -d "$r/usr/$l" ]; then
    ln -s "usr/$l" "$r/$l"
  fi
done
ln -sf python3.11 "$r/usr/bin/python3"
dpkg-deb -f "$(ls "$work"/debs/python3.11-minimal_*.deb)" Version > "$work/version"

mkdir -p "$out"
rm -f "$out/rootfs.ext4"
size=$(( $(du -sm "$r" | cut -f1) + 96 ))
mke2fs -q -t ext4 -L hearth-root -d "$r" -E root_owner=0:0 "$out/rootfs.ext4" "${size}M"
cp "$work/version" "$out/version"
