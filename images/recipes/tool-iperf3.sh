#!/usr/bin/env bash
# Recipe: the iperf3 tool rootfs (ext4) for the network benchmark (bench/net.ts) = the base busybox
# rootfs + Debian bookworm's iperf3 and the glibc, libiperf, libsctp and OpenSSL libraries it links,
# all as .debs from Debian's archive (runtime-lib.sh's rt_host_debs): no debootstrap, no chroot, no
# loop mount. Not a runtime: nothing registers it; the benchmark uploads it.
# Output: $1/rootfs.ext4 and $1/version. This recipe's and runtime-lib.sh's text and the base rootfs
# key are the cache key.
set -euo pipefail
out=${1:?usage: tool-iperf3.sh OUTDIR BASE_ROOTFS_EXT4}
base=${2:?usage: tool-iperf3.sh OUTDIR BASE_ROOTFS_EXT4}
# shellcheck source=runtime-lib.sh
. "$(dirname "$0")/runtime-lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
r=$work/root
rt_unpack_base "$base" "$r"
rt_host_debs "$r" "$work/debs" libc6 libssl3 libsctp1 libiperf0 iperf3
# Documentation and the init scripts of the packages are of no use in the guest.
rm -rf "$r/usr/share/doc" "$r/usr/share/man" "$r/usr/share/lintian" "$r/etc/init.d/iperf3" \
  "$r/lib/systemd" "$r/usr/lib/systemd"
rt_ext4 "$r" "$out" 32
rt_deb_version "$work/debs" iperf3 > "$out/version"
