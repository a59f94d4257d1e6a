import type { BootProfile, Pool, Vm } from '@hearth/contract';
import { table } from './format.ts';

/** Milliseconds as people read them: `0.4 ms`, `87 ms`, `1.32 s`. */
export function ms(n: number): string {
  if (n < 10) return `${Math.round(n * 10) / 10} ms`;
  if (n < 1000) return `${Math.round(n)} ms`;
  return `${(n / 1000).toFixed(2)} s`;
}

const SOURCE: Record<BootProfile['source'], string> = {
  cold: 'cold boot',
  pool: 'from a warm pool',
  snapshot: 'restored from a snapshot',
  restart: 'restart',
};

const BAR = 30;

/**
 * A boot profile as lines: the source and total, then one line per step with its milliseconds and
 * a bar sized by its share (what no step accounts for is shown as `other`).
 */
export function bootLines(p: BootProfile): string[] {
  const source = p.source === 'pool' && p.pool ? `from warm pool ${p.pool}` : SOURCE[p.source];
  const sum = p.steps.reduce((a, s) => a + s.ms, 0);
  const rest = Math.round(p.totalMs - sum);
  const steps = [...p.steps, ...(rest >= 1 ? [{ name: 'other', ms: rest }] : [])];
  const scale = Math.max(p.totalMs, sum, 1);
  const width = Math.max(...steps.map((s) => s.name.length), 4);
  return [
    `${source}, ${ms(p.totalMs)} total, at ${p.at}`,
    ...steps.map(
      (s) =>
        `  ${s.name.padEnd(width)}  ${ms(s.ms).padStart(9)}  ${'#'.repeat(Math.max(1, Math.round((s.ms / scale) * BAR)))}`,
    ),
  ];
}

/** `hearth create --pool`'s verdict: whether the VM came from the pool or the pool was empty. */
export function poolVerdict(pool: string, vm: Vm): string {
  if (vm.boot?.source === 'pool' || (vm.boot === null && vm.pool !== null))
    return `from pool ${pool}${vm.boot ? `: handed out in ${ms(vm.boot.totalMs)}` : ''}`;
  return `pool ${pool} was empty: cold boot${vm.boot ? ` in ${ms(vm.boot.totalMs)}` : ''}`;
}

/** `hearth inspect`'s human output: the VM's main fields, then its boot profile. */
export function vmDetails(v: Vm, hostName: string | null): string {
  const pairs = (r: Record<string, string>) =>
    Object.entries(r)
      .map(([k, val]) => `${k}=${val}`)
      .join(' ') || '-';
  const rows: [string, string][] = [
    ['name', `${v.name} (${v.id})`],
    ['state', `${v.state}${v.desiredState !== v.state ? ` (wanted ${v.desiredState})` : ''}`],
    ['reason', v.stateReason?.split('\n')[0] ?? '-'],
    ['project', v.project],
    ['size', `${v.vcpus} vCPU, ${v.memoryMib} MiB, disk ${v.diskMib} MiB`],
    ['image', v.image],
    ['vmm', v.vmm ? `${v.vmm}${v.accel ? `/${v.accel}` : ''}` : '-'],
    ['host', hostName ?? v.host ?? '-'],
    [
      'ip',
      v.networks?.length
        ? v.networks.map((n) => `${n.ip ?? 'dhcp…'} (${n.networkName})`).join(', ')
        : (v.ip ?? '-'),
    ],
    ['pool', v.pool ?? '-'],
    ['env', pairs(v.env)],
    ['labels', pairs(v.labels)],
    ['created', v.createdAt],
    ['started', v.startedAt ?? '-'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, val]) => `${k.padEnd(width)}  ${val}`);
  const boot = v.boot
    ? bootLines(v.boot)
    : [v.state === 'pooled' ? 'recorded when handed out' : 'not recorded yet'];
  lines.push(`${'boot'.padEnd(width)}  ${boot.join(`\n${' '.repeat(width + 2)}`)}`);
  return lines.join('\n');
}

/** Hit rate in words: `75% (3/4)`, or `-` before the first create. */
export const hitRate = (p: Pool) =>
  p.hitRate === null ? '-' : `${Math.round(p.hitRate * 100)}% (${p.hits}/${p.hits + p.misses})`;

/** A pool's spec in a few words. */
export function poolSpec(p: Pool): string {
  const s = p.spec;
  return (
    [
      s.template && `template ${s.template}`,
      s.image ?? (s.template ? null : 'base'),
      s.vcpus !== undefined && `${s.vcpus} vCPU`,
      s.memoryMib !== undefined && `${s.memoryMib}MiB`,
      s.network && `net ${s.network}`,
    ]
      .filter(Boolean)
      .join(', ') || '-'
  );
}

export function poolTable(pools: Pool[]): string {
  return table(
    ['NAME', 'MODE', 'SIZE', 'READY', 'WARMING', 'HIT RATE', 'SPEC', 'LAST ERROR'],
    pools.map((p) => [
      p.name,
      p.mode,
      String(p.size),
      String(p.ready),
      String(p.warming),
      hitRate(p),
      poolSpec(p),
      p.lastError?.split('\n')[0] ?? '-',
    ]),
  );
}

export function poolDetails(p: Pool): string {
  const rows: [string, string][] = [
    ['name', `${p.name} (${p.id})`],
    ['project', p.project],
    ['mode', p.mode],
    ['size', String(p.size)],
    ['ready', String(p.ready)],
    ['warming', String(p.warming)],
    ['hits', String(p.hits)],
    ['misses', String(p.misses)],
    ['hit rate', hitRate(p)],
    ['spec', poolSpec(p)],
    ['last error', p.lastError ?? '-'],
    ['created', p.createdAt],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, val]) => `${k.padEnd(width)}  ${val}`).join('\n');
}
