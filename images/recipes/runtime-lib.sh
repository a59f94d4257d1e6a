# Shared part of the runtime recipes built from Debian packages (runtime-python3.13.sh,
# runtime-ruby.sh); sourced, not run. No debootstrap chroot and no loop mount: mmdebstrap's
# `extract` variant unpacks PACKAGES and their dependencies (no maintainer scripts, no Essential set)
# into a folder, with its own apt configuration, so the host's apt sources (bookworm) stay untouched
# while the packages come from SUITE; the result is laid over the busybox base rootfs.

# rt_unpack_base BASE_EXT4 ROOT: the base rootfs's files into ROOT.
rt_unpack_base() {
  mkdir -p "$2"
  debugfs -R "rdump / $2" "$1" >/dev/null 2>&1
}

# rt_debian SUITE PACKAGES(comma-separated) ROOT DEBS: extracts the packages from SUITE of Debian's
# archive and lays them over ROOT (the base's own /etc files win); the .debs stay in DEBS for the
# version lookup.
rt_debian() {
  local suite=$1 pkgs=$2 r=$3 debs=$4 x
  x=$(mktemp -d)
  mmdebstrap --quiet --variant=extract --mode=auto --format=directory \
    --skip=output/dev,output/mknod,cleanup/apt/cache \
    --aptopt='APT::Install-Recommends "false"' \
    --include="$pkgs" "$suite" "$x/root" "${HEARTH_DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
    </dev/null >&2
  mkdir -p "$debs"
  mv "$x"/root/var/cache/apt/archives/*.deb "$debs/"
  # What the guest has no use for: documentation, translations, apt's and dpkg's state.
  rm -rf "$x"/root/usr/share/{doc,man,info,locale,lintian,bug} "$x"/root/var
  rm -rf "$x"/root/etc/{apt,dpkg,resolv.conf,hostname,fstab}
  cp -a "$x/root/usr/." "$r/usr/"
  mkdir -p "$r/etc"
  cp -a -n "$x/root/etc/." "$r/etc/"
  rm -rf "$x"
  # Debian's merged /usr: the loader is looked up at /lib64, libraries under /lib.
  for l in lib lib64; do
    if [ ! -e "$r/$l" ] && [ -d "$r/usr/$l" ]; then ln -s "usr/$l" "$r/$l"; fi
  done
}

# rt_deb_version DEBS PACKAGE: the Version field of PACKAGE's .deb in DEBS.
rt_deb_version() {
  dpkg-deb -f "$(ls "$1/$2"_*.deb | head -n1)" Version
}

# rt_ext4 ROOT OUTDIR: ROOT as OUTDIR/rootfs.ext4, with 96 MiB of room for the guest's files.
rt_ext4() {
  mkdir -p "$2"
  rm -f "$2/rootfs.ext4"
  local size=$(( $(du -sm "$1" | cut -f1) + 96 ))
  mke2fs -q -t ext4 -L hearth-root -d "$1" -E root_owner=0:0 "$2/rootfs.ext4" "${size}M"
}
