#!/usr/bin/env bash
# Recipe: the OpenSSH server tool rootfs (ext4) for the SSH tests and benchmark (test/ssh.test.ts,
# bench/port-forward.ts) = the base busybox rootfs + Debian bookworm's sshd, ssh-keygen (host keys)
# and sftp-server (what scp and sftp speak), with the libraries they link, all as .debs from
# Debian's archive (runtime-lib.sh's rt_host_debs): no debootstrap, no chroot, no loop mount. It
# carries no init scripts: whoever boots it starts sshd. The ssh client binaries are left out
# (they link libraries the server does not need).
# Output: $1/rootfs.ext4 and $1/version. This recipe's and runtime-lib.sh's text and the base rootfs
# key are the cache key.
set -euo pipefail
out=${1:?usage: tool-openssh.sh OUTDIR BASE_ROOTFS_EXT4}
base=${2:?usage: tool-openssh.sh OUTDIR BASE_ROOTFS_EXT4}
# shellcheck source=runtime-lib.sh
. "$(dirname "$0")/runtime-lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
r=$work/root
rt_unpack_base "$base" "$r"
rt_host_debs "$r" "$work/debs" openssh-server openssh-sftp-server openssh-client \
  libc6 libcrypt1 libwrap0 libnsl2 libtirpc3 libaudit1 libcap-ng0 libpam0g libsystemd0 libcap2 \
  libgcrypt20 libgpg-error0 liblz4-1 liblzma5 libzstd1 libselinux1 libpcre2-8-0 libgssapi-krb5-2 \
  libkrb5-3 libk5crypto3 libkrb5support0 libkeyutils1 libcom-err2 libssl3 zlib1g
# Only ssh-keygen of the client package: the rest would need libedit and libfido2.
for b in ssh scp sftp ssh-add ssh-agent ssh-keyscan ssh-argv0 ssh-copy-id slogin; do
  rm -f "$r/usr/bin/$b"
done
# The packages' service files (SysV, runit, systemd, ufw) are of no use here; the base image's
# own /etc/init.d (rcS) must stay.
rm -rf "$r/usr/share/doc" "$r/usr/share/man" "$r/usr/share/lintian" "$r/etc/init.d/ssh" \
  "$r/etc/runit" "$r/etc/sv" "$r/etc/ufw" "$r/lib/systemd" "$r/usr/lib/systemd" "$r/etc/ssh/sshd_config.d"
# Every library the kept programs need must be in the image: a missing one is a recipe bug.
have=$(find "$r" -name '*.so*' -printf '%f\n' | sort -u)
for f in "$r/usr/sbin/sshd" "$r/usr/bin/ssh-keygen" "$r/usr/lib/openssh/sftp-server" \
  $(find "$r/usr/lib/x86_64-linux-gnu" -name '*.so*' -type f); do
  for l in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p'); do
    # A here-string, not `echo | grep -q`: grep stops at the first match, and under pipefail the
    # echo that then could not write its rest (the list is over a pipe's atomic 4 KiB) failed it.
    grep -qxF "$l" <<<"$have" || { echo "tool-openssh: $f needs $l, not in the image" >&2; exit 1; }
  done
done
# sshd's privilege separation user and its empty directory.
grep -q '^sshd:' "$r/etc/passwd" || echo 'sshd:x:100:65534:sshd:/run/sshd:/bin/false' >> "$r/etc/passwd"
rt_ext4 "$r" "$out" 32
rt_deb_version "$work/debs" openssh-server > "$out/version"
