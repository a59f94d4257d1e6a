#!/usr/bin/env bash
# Recipe: the default guest kernel and its small initramfs.
# Debian's cloud kernel keeps virtio drivers as modules, so a tiny busybox initramfs loads them,
# mounts the root disk and switches to its /sbin/init. Output: $1/vmlinuz, $1/initrd.img.
# The recipe's sha256 is part of the cache key, so any change here triggers a rebuild.
set -euo pipefail
out=${1:?usage: kernel.sh OUTDIR}
kver=$(ls /lib/modules | grep -- '-cloud-amd64$' | sort -V | tail -n 1)
[ -n "$kver" ] || { echo "linux-image-cloud-amd64 is not installed" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,newroot,lib/modules}
cp /bin/busybox "$root/bin/busybox"
for a in sh mount umount insmod switch_root sleep echo cat mkdir mdev ls poweroff; do ln -s busybox "$root/bin/$a"; done

# Load order: dependencies first (modinfo gives each module's direct dependencies).
declare -A seen=()
order=()
add() {
  local m=$1 d
  [ -n "${seen[$m]:-}" ] && return 0
  seen[$m]=1
  for d in $(modinfo -k "$kver" -F depends "$m" | tr ',' ' '); do add "$d"; done
  order+=("$m")
}
for m in virtio_mmio virtio_blk virtio_net virtio_console virtio_rng button evdev; do add "$m"; done
: > "$root/lib/modules/order"
for m in "${order[@]}"; do
  src=$(modinfo -k "$kver" -n "$m")
  case $src in
    *.xz) xz -dc "$src" > "$root/lib/modules/$m.ko" ;;
    *.zst) zstd -qdc "$src" > "$root/lib/modules/$m.ko" ;;
    *) cp "$src" "$root/lib/modules/$m.ko" ;;
  esac
  echo "$m" >> "$root/lib/modules/order"
done

cat > "$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
while read -r m; do insmod "/lib/modules/$m.ko" 2>/dev/null; done < /lib/modules/order
rootdev=/dev/vda
for arg in $(cat /proc/cmdline); do
  case $arg in root=/dev/*) rootdev=${arg#root=} ;; esac
done
i=0
while [ ! -b "$rootdev" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done
fail() {
  echo "hearth-initrd: $*" > /dev/console
  poweroff -f
}
[ -b "$rootdev" ] || fail "root device $rootdev did not appear"
mount -t ext4 -o rw "$rootdev" /newroot || fail "cannot mount the root filesystem on $rootdev (is it ext4?)"
[ -x /newroot/sbin/init ] || fail "the root filesystem has no /sbin/init"

mount --move /dev /newroot/dev 2>/dev/null || umount /dev
umount /proc /sys
exec switch_root /newroot /sbin/init
INIT
chmod 755 "$root/init"
mkdir -p "$out"
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out/initrd.img"
cp "/boot/vmlinuz-$kver" "$out/vmlinuz"
echo "$kver" > "$out/version"
