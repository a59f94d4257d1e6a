#!/usr/bin/env bash
# Recipe: a Debian root filesystem (tar) for the debian-12 / debian-13 images, from Debian's
# packages with mmdebstrap: systemd as init, udev, dbus, bash, openssh-server, cloud-init, apt with
# its sources configured, busybox (its udhcpc is the DHCP client the guest agent runs on DHCP
# NICs). No kernel, bootloader or initramfs (Hearth boots its own kernel), no docs, man pages or
# translations, no recommended packages. The guest agent is added by debian-image.sh, so a new
# agent does not download Debian again.
# Usage: debian-rootfs.sh OUTDIR SUITE (bookworm | trixie). Output: $1/rootfs.tar, $1/version.
# The recipe's sha256 and the suite are the cache key.
set -euo pipefail
out=${1:?usage: debian-rootfs.sh OUTDIR SUITE}
suite=${2:?usage: debian-rootfs.sh OUTDIR SUITE}
mirror=http://deb.debian.org/debian
security=http://deb.debian.org/debian-security
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/customize.sh" <<'X'
#!/bin/sh
# Runs on the finished tree ($1) before it is packed; $2 is the suite.
set -eu
r=$1 suite=$2
# deb822 sources, the form apt prefers since bookworm.
rm -f "$r/etc/apt/sources.list"
cat > "$r/etc/apt/sources.list.d/debian.sources" <<S
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
S
echo debian > "$r/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$r/etc/hosts"
# The kernel command line mounts / read-write; nothing else is mounted from a disk.
echo '# / is mounted read-write by the kernel (root=/dev/vda rw)' > "$r/etc/fstab"
# Every VM makes its own machine id and SSH host keys at first boot.
: > "$r/etc/machine-id"
rm -f "$r/var/lib/dbus/machine-id" "$r"/etc/ssh/ssh_host_*
mkdir -p "$r/etc/systemd/system/ssh.service.d"
cat > "$r/etc/systemd/system/ssh.service.d/hearth-host-keys.conf" <<S
# Host keys are made on the VM's first boot (ssh-keygen -A makes only the missing ones), before
# Debian's own check of the configuration, which fails without them.
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
S
# Root logs in on the serial console without a password, as in the base image; sshd refuses
# empty passwords, so SSH needs a key or a password set through the API.
sed -i 's/^root:[^:]*:/root::/' "$r/etc/shadow"
# cloud-init runs the VM's user data; the guest agent owns the hostname, the network and the
# API's users and keys (docs/images.md), so cloud-init leaves those alone.
cat > "$r/etc/cloud/cloud.cfg.d/99_hearth.cfg" <<S
datasource_list: [ NoCloud, None ]
preserve_hostname: true
manage_etc_hosts: false
network:
  config: disabled
disable_root: false
users: []
ssh_deletekeys: false
ssh_genkeytypes: []
S
# The console line the host waits for on VMs booted without a guest agent session.
cat > "$r/etc/systemd/system/hearth-boot-marker.service" <<'S'
[Unit]
Description=Print the Hearth boot marker on the console
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'read -r up _ < /proc/uptime; echo "hearth-guest: booted in $${up}s ($$(uname -r), systemd)" > /dev/console'

[Install]
WantedBy=multi-user.target
S
ln -sf ../hearth-boot-marker.service "$r/etc/systemd/system/multi-user.target.wants/hearth-boot-marker.service"
# Timers that would download package lists or scan disks in every VM, slow under emulation.
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer; do
  ln -sf /dev/null "$r/etc/systemd/system/$u"
done
rm -rf "$r"/var/cache/apt/* "$r"/var/lib/apt/lists/* "$r"/var/log/*.log "$r"/var/log/apt/* "$r"/var/cache/debconf/*-old
X

mmdebstrap --quiet --variant=minbase --mode=root --format=tar --skip=output/dev \
  --components=main \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/lintian/*' \
  --include=systemd,systemd-sysv,udev,dbus,bash,openssh-server,cloud-init,iproute2,procps,sudo,ca-certificates,netbase,less,busybox \
  --customize-hook="sh $work/customize.sh \"\$1\" $suite" \
  "$suite" "$work/rootfs.tar" \
  "deb $mirror $suite main" "deb $mirror $suite-updates main" "deb $security $suite-security main" >&2
mkdir -p "$out"
mv "$work/rootfs.tar" "$out/rootfs.tar"
tar -xOf "$out/rootfs.tar" ./etc/debian_version > "$out/version"
