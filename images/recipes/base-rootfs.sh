#!/usr/bin/env bash
# Recipe: the default base rootfs (ext4), built from busybox-static with no loop mount.
# busybox init runs /etc/init.d/rcS, prints the boot marker on the console, starts a serial
# getty, and powers off cleanly on the ACPI power button (QMP system_powerdown).
# Output: $1/rootfs.ext4. The recipe's sha256 is part of the cache key.
set -euo pipefail
out=${1:?usage: base-rootfs.sh OUTDIR GUEST_AGENT_BINARY}
agent=${2:?usage: base-rootfs.sh OUTDIR GUEST_AGENT_BINARY}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
r=$work/root
mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc/init.d,etc/acpi/PWRF,proc,sys,dev,tmp,run,root,var/log,mnt}
chmod 1777 "$r/tmp"
cp /bin/busybox "$r/bin/busybox"
for a in $(/bin/busybox --list-full); do
  [ "$a" = bin/busybox ] && continue
  mkdir -p "$r/$(dirname "$a")"
  ln -sf /bin/busybox "$r/$a"
done

# busybox-static has no nohup applet, and `nohup server &` is the first line people type to
# leave a server running after an exec or a shell.
cat > "$r/usr/bin/nohup" <<'X'
#!/bin/sh
# nohup COMMAND [ARG]...: run COMMAND immune to hangups; output to nohup.out if it was a terminal.
if [ $# -eq 0 ]; then echo 'usage: nohup COMMAND [ARG]...' >&2; exit 125; fi
trap '' HUP
if [ -t 1 ]; then exec >>nohup.out; fi
if [ -t 2 ]; then exec 2>&1; fi
exec "$@"
X
chmod 755 "$r/usr/bin/nohup"

cat > "$r/etc/inittab" <<'X'
::sysinit:/etc/init.d/rcS
::respawn:/usr/sbin/hearth-guest
ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100
::ctrlaltdel:/sbin/poweroff
::shutdown:/etc/init.d/rcK
X

cat > "$r/etc/init.d/rcS" <<'X'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -o remount,rw /
host=hearth
for arg in $(cat /proc/cmdline); do
  case $arg in
    hearth.hostname=*) host=${arg#hearth.hostname=} ;;
    hearth.ip=*) ipcfg=${arg#hearth.ip=} ;;
  esac
done
hostname "$host"
echo "$host" > /etc/hostname
ip link set lo up
if [ -n "${ipcfg:-}" ]; then
  # hearth.ip=ADDR/PREFIX,GATEWAY,DNS
  addr=${ipcfg%%,*}; rest=${ipcfg#*,}; gw=${rest%%,*}; dns=${rest#*,}
  ip link set eth0 up && ip addr add "$addr" dev eth0
  [ -n "$gw" ] && ip route add default via "$gw"
  [ -n "$dns" ] && echo "nameserver $dns" > /etc/resolv.conf
  echo "hearth-guest: eth0 $addr, gateway ${gw:-none}, dns ${dns:-none}" > /dev/console
fi
acpid -c /etc/acpi 2>/dev/null
up=$(cut -d' ' -f1 /proc/uptime)
echo "hearth-guest: booted in ${up}s (hostname $host, kernel $(uname -r))" > /dev/console
X

cat > "$r/etc/init.d/rcK" <<'X'
#!/bin/sh
echo "hearth-guest: shutting down" > /dev/console
killall5 -15 2>/dev/null
sync
umount -a -r 2>/dev/null
mount -o remount,ro / 2>/dev/null
echo "hearth-guest: filesystems synced, powering off" > /dev/console
X

cat > "$r/etc/acpi/PWRF/00000080" <<'X'
#!/bin/sh
echo "hearth-guest: power button pressed" > /dev/console
/sbin/poweroff
X
chmod 755 "$r/etc/init.d/rcS" "$r/etc/init.d/rcK" "$r/etc/acpi/PWRF/00000080"

install -m 0755 "$agent" "$r/usr/sbin/hearth-guest"
mkdir -p "$r/etc/hearth" "$r/home"
echo 'root:x:0:0:root:/root:/bin/sh' > "$r/etc/passwd"
echo 'root::0:0:99999:7:::' > "$r/etc/shadow"
chmod 600 "$r/etc/shadow"
echo 'root:x:0:' > "$r/etc/group"
echo '/bin/sh' > "$r/etc/shells"
printf 'Hearth base image (busybox). Log in as root.\n\n' > "$r/etc/issue"
echo 'nameserver 10.0.2.3' > "$r/etc/resolv.conf"

mkdir -p "$out"
rm -f "$out/rootfs.ext4"
mke2fs -q -t ext4 -L hearth-root -d "$r" -E root_owner=0:0 "$out/rootfs.ext4" 64M
