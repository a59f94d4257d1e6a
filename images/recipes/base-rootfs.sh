#!/usr/bin/env bash
# Recipe: the default base rootfs (ext4), built from busybox-static with no loop mount.
# busybox init mounts the basics and prints the boot marker (/etc/init.d/rcS), then starts the
# guest agent, a serial getty and the rest of the image's setup (/etc/init.d/rcS.late: hostname,
# network from hearth.ip, acpid) side by side, and powers off cleanly on the ACPI power button
# (QMP system_powerdown).
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
::once:/etc/init.d/rcS.late
::respawn:/usr/sbin/hearth-guest
ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100
::ctrlaltdel:/sbin/poweroff
::shutdown:/etc/init.d/rcK
X

# Under TCG every process costs tens of milliseconds, so both scripts fork as little as they can:
# shell builtins read /proc, one `mount -a` mounts the basics. The kernel mounted /dev itself
# (devtmpfs) and the command line mounted / read-write, unless this is a kernel that did not.
cat > "$r/etc/fstab" <<'X'
proc /proc proc defaults 0 0
sysfs /sys sysfs defaults 0 0
devpts /dev/pts devpts defaults 0 0
tmpfs /run tmpfs defaults 0 0
X

cat > "$r/etc/init.d/rcS" <<'X'
#!/bin/sh
[ -e /dev/null ] || mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -a
while read -r _ mnt _ opts _; do
  [ "$mnt" = / ] || continue
  case ",$opts," in *,ro,*) mount -o remount,rw / ;; esac
done < /proc/mounts
host=hearth
read -r cmdline < /proc/cmdline
for arg in $cmdline; do
  case $arg in hearth.hostname=*) host=${arg#hearth.hostname=} ;; esac
done
# Before getty starts (its prompt shows the name); the same name the agent's config carries.
echo "$host" > /proc/sys/kernel/hostname
read -r up _ < /proc/uptime
read -r kernel < /proc/sys/kernel/osrelease
echo "hearth-guest: booted in ${up}s (hostname $host, kernel $kernel)" > /dev/console
X

# The guest agent starts as soon as rcS (and its boot marker) is done, alongside this. With a
# config disk (the read-only disk starting with HEARTHC1) the agent writes /etc/hostname and sets
# up the network itself, from that disk and the same command line, and may change both again
# later (a pool's hand-out): then this leaves them alone. Without one (a VM without guest
# credentials) this does both.
cat > "$r/etc/init.d/rcS.late" <<'X'
#!/bin/sh
agent_configures() {
  for d in /sys/block/vd*; do
    ro=0
    read -r ro < "$d/ro" 2>/dev/null
    [ "$ro" = 1 ] || continue
    magic=
    read -r -n 8 magic < "/dev/${d##*/}" 2>/dev/null
    [ "$magic" = HEARTHC1 ] && return 0
  done
  return 1
}
host=hearth
read -r cmdline < /proc/cmdline
for arg in $cmdline; do
  case $arg in
    hearth.hostname=*) host=${arg#hearth.hostname=} ;;
    hearth.ip=*) ipcfg=${arg#hearth.ip=} ;;
  esac
done
if ! agent_configures; then
  echo "$host" > /etc/hostname
  ip link set lo up
  if [ -n "${ipcfg:-}" ]; then
    # hearth.ip=ADDR/PREFIX,GATEWAY,DNS; replace, not add: the agent configures it too.
    addr=${ipcfg%%,*}; rest=${ipcfg#*,}; gw=${rest%%,*}; dns=${rest#*,}
    ip link set eth0 up && ip addr replace "$addr" dev eth0
    [ -n "$gw" ] && ip route replace default via "$gw"
    [ -n "$dns" ] && echo "nameserver $dns" > /etc/resolv.conf
    echo "hearth-guest: eth0 $addr, gateway ${gw:-none}, dns ${dns:-none}" > /dev/console
  fi
fi
acpid -c /etc/acpi 2>/dev/null
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
chmod 755 "$r/etc/init.d/rcS" "$r/etc/init.d/rcS.late" "$r/etc/init.d/rcK" "$r/etc/acpi/PWRF/00000080"

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
