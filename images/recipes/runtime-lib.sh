# Shared part of the recipes built from Debian packages on the busybox base (runtime-python3.13.sh,
# runtime-ruby.sh, tool-iperf3.sh, tool-openssh.sh); sourced, not run. No debootstrap chroot and no loop mount: mmdebstrap's
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

# rt_host_debs ROOT DEBS PACKAGE...: the packages' .debs from the host's own apt sources (Debian
# bookworm; `apt-get download`, no dependency resolution: the caller lists every package) into
# DEBS, unpacked over ROOT with `dpkg -x`, with Debian's merged /usr: /lib and /lib64 made links
# into /usr, as the loader paths expect.
rt_host_debs() {
  local r=$1 debs=$2 d l
  shift 2
  mkdir -p "$debs"
  (cd "$debs" && apt-get download -qq "$@" >/dev/null)
  for d in "$debs"/*.deb; do dpkg -x "$d" "$r"; done
  for l in lib lib64; do
    if [ -d "$r/$l" ] && [ ! -L "$r/$l" ] && [ -d "$r/usr/$l" ]; then
      cp -a "$r/$l/." "$r/usr/$l/" && rm -rf "${r:?}/$l" && ln -s "usr/$l" "$r/$l"
    elif [ ! -e "$r/$l" ] && [ -d "$r/usr/$l" ]; then
      ln -s "usr/$l" "$r/$l"
    fi
  done
}

# rt_deb_version DEBS PACKAGE: the Version field of PACKAGE's .deb in DEBS.
rt_deb_version() {
  dpkg-deb -f "$(ls "$1/$2"_*.deb | head -n1)" Version
}

# rt_ext4 ROOT OUTDIR [ROOM]: ROOT as OUTDIR/rootfs.ext4, with ROOM MiB (default 96) of room for
# the guest's files.
rt_ext4() {
  mkdir -p "$2"
  rm -f "$2/rootfs.ext4"
  local size=$(( $(du -sm "$1" | cut -f1) + ${3:-96} ))
  mke2fs -q -t ext4 -L hearth-root -d "$1" -E root_owner=0:0 "$2/rootfs.ext4" "${size}M"
}
