import { describe, expect, it } from 'vitest';
import { buildQemuArgs, guestSocketFromArgs } from './args.ts';

const spec = {
  vmId: 'vm_x',
  runDir: '/run/vm_x',
  vcpus: 2,
  memoryMib: 256,
  kernelPath: '/img/k',
  initrdPath: '/img/i',
  diskPath: '/run/vm_x/disk.raw',
  cmdline: 'console=ttyS0 root=/dev/vda',
  consoleLogPath: '/run/vm_x/console.log',
  tap: { name: 'htap0', mac: '02:48:0a:00:00:02' },
  guestSocketPath: '/run/vm_x/guest.sock',
};

describe('QEMU argv', () => {
  it('builds a microvm with virtio devices, QMP, pid file and console log', () => {
    const a = buildQemuArgs(spec, 'tcg');
    const after = (flag: string) => a[a.indexOf(flag) + 1];
    expect(after('-machine')).toMatch(/^microvm,/);
    expect(after('-accel')).toBe('tcg,tb-size=64');
    expect(after('-cpu')).toBe('max');
    expect(after('-m')).toBe('256');
    expect(after('-smp')).toBe('2');
    expect(after('-initrd')).toBe('/img/i');
    expect(after('-append')).toBe('console=ttyS0 root=/dev/vda');
    expect(after('-qmp')).toBe('unix:/run/vm_x/qmp.sock,server=on,wait=off');
    expect(after('-pidfile')).toBe('/run/vm_x/qemu.pid');
    expect(a.join(' ')).toContain('logfile=/run/vm_x/console.log,logappend=on');
    expect(a.join(' ')).toContain('tap,id=net0,ifname=htap0,script=no,downscript=no');
    expect(a.join(' ')).toContain('mac=02:48:0a:00:00:02');
    expect(a).toContain('-no-reboot');
  });

  it('caps the TCG translation cache and adds a free-page-reporting balloon; both can be turned off', () => {
    const a = buildQemuArgs(spec, 'tcg');
    expect(a).toContain('virtio-balloon-device,free-page-reporting=on,deflate-on-oom=on');
    const plain = buildQemuArgs(spec, 'tcg', { tbSizeMib: null, freePageReporting: false });
    expect(plain[plain.indexOf('-accel') + 1]).toBe('tcg');
    expect(plain.join(' ')).not.toContain('balloon');
    // No translation cache under KVM.
    const kvm = buildQemuArgs(spec, 'kvm');
    expect(kvm[kvm.indexOf('-accel') + 1]).toBe('kvm');
  });

  it('uses the host CPU under KVM and omits what is absent', () => {
    const a = buildQemuArgs({ ...spec, initrdPath: null, tap: null }, 'kvm');
    expect(a[a.indexOf('-cpu') + 1]).toBe('host');
    expect(a).not.toContain('-initrd');
    expect(a).not.toContain('-netdev');
  });

  it('attaches the config disk read-only with its serial, after the volumes', () => {
    const a = buildQemuArgs(
      {
        ...spec,
        volumes: [{ id: 'vol_1', path: '/v/1', readOnly: false }],
        configDiskPath: '/run/vm_x/config.raw',
      },
      'tcg',
    );
    const drives = a.filter((_, i) => a[i - 1] === '-drive');
    expect(drives.map((d) => d.split(',')[0])).toEqual(['id=root', 'id=vol0', 'id=config']);
    expect(drives[2]).toBe('id=config,file=/run/vm_x/config.raw,format=raw,if=none,readonly=on');
    expect(a).toContain('virtio-blk-device,drive=config,serial=hearth-config');
    expect(buildQemuArgs(spec, 'tcg').join(' ')).not.toContain('hearth-config');
  });

  it('keeps the kernel command line one argv element (no shell splitting)', () => {
    const a = buildQemuArgs({ ...spec, cmdline: 'a b  c;rm -rf /' }, 'tcg');
    expect(a[a.indexOf('-append') + 1]).toBe('a b  c;rm -rf /');
  });

  it('adds the guest agent channel as a named virtio-serial port, recoverable from argv', () => {
    const a = buildQemuArgs(spec, 'tcg');
    expect(a).toContain('virtserialport,chardev=agent0,name=org.hearth.agent');
    expect(guestSocketFromArgs(a)).toBe('/run/vm_x/guest.sock');
    expect(guestSocketFromArgs(['-m', '1'])).toBeNull();
  });
});

describe('QEMU argv, confined', () => {
  it('turns the seccomp sandbox on only for a confined VM', () => {
    expect(buildQemuArgs(spec, 'tcg')).not.toContain('-sandbox');
    const a = buildQemuArgs({ ...spec, confine: { uid: 800_000, gid: 800_000, cgroupProcs: [] } }, 'tcg');
    expect(a[a.indexOf('-sandbox') + 1]).toBe(
      'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny',
    );
  });
});
