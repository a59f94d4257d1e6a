import type { Network, Snapshot, Vm } from '@hearth/contract';
import { guardTable, natTable, policyTable, portTable, tapName } from '@hearth/agent';
import type { ChaosHost } from './topology.ts';
import { netnsId, nsLinks, nsTables, parseLabel, snapshotDirs, vmDirs, vmmProcs } from './scan.ts';
import { api, type ChaosState } from './state.ts';

export interface Invariant {
  name: string;
  ok: boolean;
  checked: number;
  problems: string[];
}

export interface Records {
  vms: Vm[];
  snapshots: Snapshot[];
  networks: Network[];
}

const RUNS = new Set<Vm['state']>(['running', 'paused']);

export async function readRecords(s: ChaosState): Promise<Records> {
  const [vms, snapshots, networks] = await Promise.all([
    api(s, 'listVms', (c) => c.all('listVms')),
    api(s, 'listSnapshots', (c) => c.all('listSnapshots')),
    api(s, 'listNetworks', (c) => c.all('listNetworks')),
  ]);
  return { vms, snapshots, networks };
}

/** (a) records match what runs, (b) nothing runs twice, (c) nothing is left that no record explains. */
export function checkCluster(hosts: ChaosHost[], r: Records): Invariant[] {
  const byNs = new Map(hosts.map((h) => [netnsId(h.ns.name), h]));
  const procs = vmmProcs();
  const ours = procs.filter((p) => byNs.has(p.netns) || r.vms.some((v) => v.id === p.vmId));
  const vmById = new Map(r.vms.map((v) => [v.id, v]));
  const a: Invariant = { name: 'records match what runs', ok: true, checked: 0, problems: [] };
  for (const v of r.vms) {
    a.checked++;
    const mine = ours.filter((p) => p.vmId === v.id);
    const host = hosts.find((h) => h.id === v.host);
    if (RUNS.has(v.state)) {
      const there = mine.filter((p) => host && byNs.get(p.netns) === host);
      if (there.length !== 1)
        a.problems.push(`${v.id} is ${v.state} on ${host?.name ?? v.host}: ${there.length} VMMs there`);
    } else if (['stopped', 'failed', 'lost', 'created'].includes(v.state)) {
      if (mine.length)
        a.problems.push(`${v.id} is ${v.state} but has VMM pid ${mine.map((p) => p.pid).join(',')}`);
    } else a.problems.push(`${v.id} never settled: ${v.state} (${v.stateReason ?? ''})`);
  }
  const b: Invariant = { name: 'no VM runs twice', ok: true, checked: 0, problems: [] };
  const count = new Map<string, number[]>();
  for (const p of ours) count.set(p.vmId, [...(count.get(p.vmId) ?? []), p.pid]);
  for (const [id, pids] of count) {
    b.checked++;
    if (pids.length > 1) b.problems.push(`${id} has ${pids.length} VMMs: pids ${pids.join(', ')}`);
  }
  const c: Invariant = {
    name: 'no orphans (VMM, TAP, bridge, nft, disk, snapshot)',
    ok: true,
    checked: 0,
    problems: [],
  };
  for (const h of hosts) orphansOn(h, r, ours, vmById, c);
  for (const x of [a, b, c]) x.ok = x.problems.length === 0;
  return [a, b, c];
}

function orphansOn(
  h: ChaosHost,
  r: Records,
  procs: ReturnType<typeof vmmProcs>,
  vmById: Map<string, Vm>,
  c: Invariant,
): void {
  const nsId = netnsId(h.ns.name);
  const runsHere = (id: string) => {
    const v = vmById.get(id);
    return !!v && v.host === h.id && RUNS.has(v.state);
  };
  const running = r.vms.filter((v) => runsHere(v.id));
  const nets = new Set(r.networks.map((n) => n.id));
  const say = (what: string) => c.problems.push(`${h.name}: ${what}`);
  for (const p of procs.filter((p) => p.netns === nsId)) {
    c.checked++;
    if (!runsHere(p.vmId)) say(`VMM pid ${p.pid} of ${p.vmId} (${vmById.get(p.vmId)?.state ?? 'no record'})`);
  }
  const links = nsLinks(h.ns.name);
  const taps = new Map(running.map((v) => [tapName(v.id), v.id]));
  for (const l of links) {
    const lbl = parseLabel(l.alias);
    if (!lbl && !l.name.startsWith('htap')) continue;
    c.checked++;
    if (lbl?.kind === 'net') {
      if (!nets.has(lbl.id)) say(`link ${l.name} of network ${lbl.id}, which has no record`);
    } else if (lbl ? !runsHere(lbl.id) : !taps.has(l.name))
      say(
        `TAP ${l.name} of ${lbl?.id ?? 'an unknown VM'} (${lbl ? (vmById.get(lbl.id)?.state ?? 'no record') : ''})`,
      );
  }
  const tableOwners = new Map<string, string>();
  for (const v of running)
    for (const t of [guardTable(v.id), portTable(v.id), policyTable(v.id)]) tableOwners.set(t, v.id);
  for (const l of links) tableOwners.set(natTable(l.name), l.name);
  for (const t of nsTables(h.ns.name).filter((t) => t.name.startsWith('hearth_'))) {
    c.checked++;
    const lbl = parseLabel(t.comment);
    if (lbl?.kind === 'net' ? !nets.has(lbl.id) : lbl ? !runsHere(lbl.id) : !tableOwners.has(t.name))
      say(`nft table ${t.family} ${t.name} (${t.comment || 'no label'}) that nothing running explains`);
  }
  for (const id of vmDirs(h.dir)) {
    c.checked++;
    const v = vmById.get(id);
    if (!v || v.host !== h.id) say(`disk/run dir of ${id} (${v ? `${v.state} on ${v.host}` : 'no record'})`);
  }
  for (const id of snapshotDirs(h.dir)) {
    c.checked++;
    const snap = r.snapshots.find((x) => x.id === id);
    if (!snap || snap.host !== h.id)
      say(`snapshot files ${id} (${snap ? `record on ${snap.host}` : 'no record'})`);
  }
}

/** (d) every acknowledged write is in the running VMs, byte for byte. */
export async function checkWrites(s: ChaosState, vms: Vm[]): Promise<Invariant> {
  const d: Invariant = { name: 'acknowledged writes intact', ok: true, checked: 0, problems: [] };
  let skipped = 0;
  for (const v of vms) {
    const m = s.vms.get(v.id);
    if (!m || !m.files.size) continue;
    if (v.state !== 'running' || m.unsure) {
      skipped += m.files.size;
      continue;
    }
    const paths = [...m.files.keys()];
    const r = await api(s, 'execVm', (c) =>
      c.call('execVm', {
        params: { id: v.id },
        body: {
          command: `for f in ${paths.join(' ')}; do echo "$f $(cat "$f" 2>/dev/null | sha256sum)"; done`,
          timeoutMs: 60_000,
        },
      }),
    ).catch((e: Error) => ({ exitCode: -1, stdout: '', stderr: e.message }));
    const got = new Map(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => [l.split(' ')[0]!, l.split(' ')[1] ?? '']),
    );
    for (const [path, sha] of m.files) {
      d.checked++;
      if (got.get(path) !== sha)
        d.problems.push(
          `${v.id} ${path}: want ${sha.slice(0, 12)}, read ${(got.get(path) ?? r.stderr).slice(0, 40) || 'nothing'}`,
        );
    }
  }
  d.ok = d.problems.length === 0;
  if (skipped) d.name += ` (${skipped} in stopped/failed VMs unread)`;
  return d;
}

export function invariantTable(seed: number, rows: Invariant[]): string {
  const lines = [`chaos invariants (seed ${seed})`];
  for (const x of rows) {
    lines.push(`  ${x.ok ? 'PASS' : 'FAIL'}  ${x.name.padEnd(58)} checked ${x.checked}`);
    for (const p of x.problems.slice(0, 20)) lines.push(`        - ${p}`);
    if (x.problems.length > 20) lines.push(`        … ${x.problems.length - 20} more`);
  }
  return lines.join('\n');
}
