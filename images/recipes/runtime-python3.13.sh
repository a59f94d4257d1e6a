#!/usr/bin/env bash
# Recipe: the python3.13 runtime rootfs (ext4) = the base busybox rootfs + Debian trixie's Python 3.13
# (python3.13 and the libraries it and its standard extension modules link against, unpacked by
# runtime-lib.sh), with /usr/bin/python3 pointing at it (the `python3` alias).
# Output: $1/rootfs.ext4 and $1/version. This recipe's and runtime-lib.sh's text and the base rootfs
# key are the cache key.
set -euo pipefail
out=${1:?usage: runtime-python3.13.sh OUTDIR BASE_ROOTFS_EXT4}
base=${2:?usage: runtime-python3.13.sh OUTDIR BASE_ROOTFS_EXT4}
# shellcheck source=runtime-lib.sh
. "$(dirname "$0")/runtime-lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rt_unpack_base "$base" "$work/root"
rt_debian trixie python3.13 "$work/root" "$work/debs"
ln -sf python3.13 "$work/root/usr/bin/python3"
rt_ext4 "$work/root" "$out"
rt_deb_version "$work/debs" python3.13-minimal > "$out/version"
