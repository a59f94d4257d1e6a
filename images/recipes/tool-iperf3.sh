#!/usr/bin/env bash
# Recipe: the iperf3 tool rootfs (ext4) for the network benchmark (bench/net.ts) = the base busybox
# rootfs + Debian bookworm's iperf3 and the glibc, libiperf, libsctp and OpenSSL libraries it links,
# all as .debs from Debian's archive (`apt-get download`, unpacked with `dpkg -x`): no debootstrap,
# no chroot, no loop mount. Not a runtime: nothing registers it; the benchmark uploads it.
# Output: $1/rootfs.ext4 and $1/version. The recipe's sha256 and the base rootfs key are the cache key.
set -euo pipefail
out=${1:?usage: tool-iperf3.sh OUTDIR BASE_ROOTFS_EXT4}
base=${2:?usage: tool-iperf3.sh OUTDIR BASE_ROOTFS_EXT4}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
r=$work/root
mkdir -p "$r" "$work/debs"
debugfs -R "rdump / $r" "$base" >/dev/null 2>&1

pkgs=(libc6 libssl3 libsctp1 libiperf0 iperf3)
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
# Documentation and the init scripts of the packages are of no use in the guest.
rm -rf "$r/usr/share/doc" "$r/usr/share/man" "$r/usr/share/lintian" "$r/etc/init.d/iperf3" \
  "$r/lib/systemd" "$r/usr/lib/systemd"
dpkg-deb -f "$(ls "$work"/debs/iperf3_*.deb)" Version > "$work/version"

mkdir -p "$out"
rm -f "$out/rootfs.ext4"
size=$(( $(du -sm "$r" | cut -f1) + 32 ))
mke2fs -q -t ext4 -L hearth-root -d "$r" -E root_owner=0:0 "$out/rootfs.ext4" "${size}M"
cp "$work/version" "$out/version"
