// Footprint of one idle QEMU VM, broken down by mapping (guest RAM, TCG code buffer, the rest),
// for argv variants measured interleaved on the same machine. No Hearth in the loop: the real
// argv from buildQemuArgs, the default kernel and base image, a throwaway disk copy.
// Usage: node --import tsx bench/qemu-footprint.ts [--rounds 2] [--idle 15] [--explore]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOOT_MARKER, ensureBaseRootfs, ensureBuiltinImages } from '@hearth/images';
import {
  buildQemuArgs,
  detectAccel,
  hostTscKhz,
  QEMU_BINARY,
  QEMU_MEMORY_DEFAULTS,
  type QemuMemoryOptions,
} from '@hearth/qemu';
import { arg, whenFileContains } from './lib.ts';
import { qemuFootprint, type Footprint } from './qemu-smaps.ts';

const rounds = arg('rounds', 2);
const idleS = arg('idle', 15);
type Variant = QemuMemoryOptions & { memfd?: boolean };
// Before (QEMU's defaults) and after (Hearth's); --explore adds the choices that were measured
// and not taken (a smaller cache, guest RAM on a memfd).
const variants: Record<string, Variant> = {
  'qemu-default': { tbSizeMib: null, freePageReporting: false },
  hearth: QEMU_MEMORY_DEFAULTS,
  ...(process.argv.includes('--explore') && {
    'tb-size=8': { ...QEMU_MEMORY_DEFAULTS, tbSizeMib: 8 },
    'memfd-ram': { ...QEMU_MEMORY_DEFAULTS, memfd: true },
  }),
};

const kernel = (await ensureBuiltinImages()).find((a) => a.name === 'kernel-default')!;
const base = await ensureBaseRootfs();
const accel = (await detectAccel()).accel;
const tsc = accel === 'tcg' ? await hostTscKhz() : null;

async function one(name: string, mem: Variant): Promise<{ bootMs: number; fp: Footprint }> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-fp-'));
  try {
    const disk = join(dir, 'disk.raw');
    await copyFile(base.path, disk);
    const consoleLog = join(dir, 'console.log');
    const cmdline = `${String(kernel.meta.cmdline)} hearth.hostname=fp${tsc ? ` tsc_early_khz=${tsc} tsc=reliable` : ''}`;
    const args = buildQemuArgs(
      {
        vmId: `fp-${name.replace(/[^a-z0-9]/g, '')}`,
        runDir: dir,
        vcpus: 1,
        memoryMib: 128,
        kernelPath: kernel.path,
        initrdPath: null,
        diskPath: disk,
        cmdline,
        consoleLogPath: consoleLog,
        tap: null,
        guestSocketPath: join(dir, 'guest.sock'),
      },
      accel,
      mem,
    );
    if (mem.memfd)
      args.push('-object', 'memory-backend-memfd,id=mem0,size=128M', '-machine', 'memory-backend=mem0');
    const t0 = performance.now();
    const q = spawn(QEMU_BINARY, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    try {
      const bootMs = (await whenFileContains(consoleLog, BOOT_MARKER, 120_000)) - t0;
      await new Promise((r) => setTimeout(r, idleS * 1000));
      return { bootMs, fp: await qemuFootprint(q.pid!, 128) };
    } finally {
      const gone = once(q, 'exit');
      q.kill('SIGKILL');
      await gone;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const results: Record<string, { bootMs: number; fp: Footprint }[]> = {};
for (let r = 0; r < rounds; r++) {
  for (const [name, mem] of Object.entries(variants)) {
    const res = await one(name, mem);
    (results[name] ??= []).push(res);
    const f = res.fp;
    console.log(
      `${name.padEnd(10)} boot ${res.bootMs.toFixed(0)} ms  RSS ${f.rssMiB.toFixed(1)}  PSS ${f.pssMiB.toFixed(1)}  guest RAM ${f.guestRamMiB.toFixed(1)}  TCG code ${f.tcgMiB.toFixed(1)}  other ${f.otherMiB.toFixed(1)} MiB (AnonHuge ${f.anonHugeMiB.toFixed(0)})`,
    );
  }
}

console.log(`\nQEMU footprint per idle 128 MiB VM (${rounds} rounds interleaved, ${idleS} s idle, ${accel})`);
for (const [name, rs] of Object.entries(results)) {
  const avg = (f: (r: { bootMs: number; fp: Footprint }) => number) =>
    rs.reduce((a, r) => a + f(r), 0) / rs.length;
  console.log(
    `${name.padEnd(12)} boot ${avg((r) => r.bootMs).toFixed(0)} ms  RSS ${avg((r) => r.fp.rssMiB).toFixed(1)}  PSS ${avg((r) => r.fp.pssMiB).toFixed(1)}  guest RAM ${avg((r) => r.fp.guestRamMiB).toFixed(1)}  TCG ${avg((r) => r.fp.tcgMiB).toFixed(1)}  other ${avg((r) => r.fp.otherMiB).toFixed(1)} MiB`,
  );
}
