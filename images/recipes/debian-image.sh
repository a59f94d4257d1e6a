#!/usr/bin/env bash
# Recipe: a debian-12 / debian-13 image (ext4) = the Debian tree from debian-rootfs.sh + the guest
# agent as a systemd service. The agent starts first, with no dependency (the kernel mounted / read-write
# and systemd mounted /proc, /sys, /dev and /run before any unit), before sysinit.target and
# cloud-init-local and tells systemd it is ready (Type=notify) once it has applied the VM's
# config disk: hostname, network, users and keys, and the NoCloud seed cloud-init reads next.
# Usage: debian-image.sh OUTDIR ROOTFS_TAR GUEST_AGENT_BINARY. Output: $1/rootfs.ext4, $1/version.
# The recipe's sha256, the rootfs key and the agent key are the cache key.
set -euo pipefail
out=${1:?usage: debian-image.sh OUTDIR ROOTFS_TAR GUEST_AGENT_BINARY}
tarball=${2:?usage: debian-image.sh OUTDIR ROOTFS_TAR GUEST_AGENT_BINARY}
agent=${3:?usage: debian-image.sh OUTDIR ROOTFS_TAR GUEST_AGENT_BINARY}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
r=$work/root
mkdir -p "$r"
tar -xpf "$tarball" -C "$r" --numeric-owner --xattrs --xattrs-include='*'
install -m 0755 "$agent" "$r/usr/sbin/hearth-guest"
# The tarball has no /dev; a distribution's initramfs (a kernel the VM brings itself) moves its
# /dev onto the root's before it starts init, as on any installed system.
mkdir -p "$r/dev"
mkdir -p "$r/etc/hearth"
cat > "$r/etc/systemd/system/hearth-guest.service" <<'X'
[Unit]
Description=Hearth guest agent
DefaultDependencies=no
Before=sysinit.target cloud-init-local.service shutdown.target
Conflicts=shutdown.target

[Service]
Type=notify
NotifyAccess=main
ExecStart=/usr/sbin/hearth-guest
# An agent restarted after a crash must not take the processes it started (exec, nohup) with it.
KillMode=process
Restart=always
RestartSec=1
TimeoutStartSec=120

[Install]
WantedBy=sysinit.target
X
# Debian's sysctl defaults that our kernel may not take (kernel.pid_max above its limit on a small
# kernel) are applied where they can be instead of failing systemd-sysctl.service: the same files
# in /etc, which mask those in /usr/lib, with every key marked "-" (ignore a failure).
for f in "$r"/usr/lib/sysctl.d/*.conf; do
  [ -e "$f" ] || continue
  sed -E 's/^([a-z])/-\1/' "$f" > "$r/etc/sysctl.d/${f##*/}"
done
# cloud-init runs only the modules that act on user data: not the locale (locale-gen takes
# minutes under emulation), the hostname, /etc/hosts or the keys-to-console report. apt keeps the
# image's deb822 sources instead of writing a sources.list of its own.
cat > "$r/etc/cloud/cloud.cfg.d/99_hearth_modules.cfg" <<'X'
apt:
  preserve_sources_list: true
cloud_init_modules: [seed_random, bootcmd, write_files, users_groups, ssh]
cloud_config_modules: [apt_configure, set_passwords, timezone, runcmd]
cloud_final_modules: [package_update_upgrade_install, write_files_deferred, scripts_vendor, scripts_per_once, scripts_per_boot, scripts_per_instance, scripts_user, final_message, power_state_change]
X
# Our kernels have no modules: nothing for modprobe@ (each instance costs seconds under emulation).
ln -sf /dev/null "$r/etc/systemd/system/modprobe@.service"
ln -sf /dev/null "$r/etc/systemd/system/systemd-modules-load.service"
ln -sf /lib/systemd/system/multi-user.target "$r/etc/systemd/system/default.target"
# trixie's systemd-ssh-generator (sshd on AF_VSOCK) fails where the VM has no vsock CID; sshd and
# the guest agent are how Hearth reaches a VM.
mkdir -p "$r/etc/systemd/system-generators"
ln -sf /dev/null "$r/etc/systemd/system-generators/systemd-ssh-generator"
# cloud-init runs on every boot and finds the seed itself: ds-identify (a generator, run before
# the agent could write the seed) must not turn it off for want of a datasource it can see.
echo 'policy: enabled' > "$r/etc/cloud/ds-identify.cfg"
mkdir -p "$r/etc/systemd/system/sysinit.target.wants"
ln -sf ../hearth-guest.service "$r/etc/systemd/system/sysinit.target.wants/hearth-guest.service"

mkdir -p "$out"
rm -f "$out/rootfs.ext4"
# Room for a first apt-get install; every VM's disk is grown to its own size at boot anyway.
size=$(( $(du -sm "$r" | cut -f1) * 5 / 4 + 64 ))
mke2fs -q -t ext4 -L hearth-root -d "$r" -E root_owner=0:0 "$out/rootfs.ext4" "${size}M"
cp "$(dirname "$tarball")/version" "$out/version"
