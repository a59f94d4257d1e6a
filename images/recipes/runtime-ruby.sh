#!/usr/bin/env bash
# Recipe: the ruby runtime rootfs (ext4) = the base busybox rootfs + Debian trixie's Ruby (the `ruby`
# package: ruby3.3, its standard library and RubyGems, unpacked by runtime-lib.sh).
# Output: $1/rootfs.ext4 and $1/version. This recipe's and runtime-lib.sh's text and the base rootfs
# key are the cache key.
set -euo pipefail
out=${1:?usage: runtime-ruby.sh OUTDIR BASE_ROOTFS_EXT4}
base=${2:?usage: runtime-ruby.sh OUTDIR BASE_ROOTFS_EXT4}
# shellcheck source=runtime-lib.sh
. "$(dirname "$0")/runtime-lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rt_unpack_base "$base" "$work/root"
rt_debian trixie ruby "$work/root" "$work/debs"
rt_ext4 "$work/root" "$out"
rt_deb_version "$work/debs" libruby3.3 > "$out/version"
