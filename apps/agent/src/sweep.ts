import { readdir, readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { sh } from './exec.ts';
import { stopDns } from './dns.ts';
import { natTable } from './net.ts';

/**
 * Start-up sweep: links and nftables tables labelled as made by this agent (see `label` in
 * networks.ts) whose VM no longer runs or whose network no VM here uses are removed. Anything
 * without our label, or with another agent's, is left alone.
 */
export interface SweepInput {
  /** Label owners that are this agent: its host id (and, once at start-up, older labels of it). */
  owners: readonly string[];
  runningVms: ReadonlySet<string>;
  networksInUse: ReadonlySet<string>;
  /** Bridges to keep whatever their use (the agent's configured default bridge). */
  keepBridges: ReadonlySet<string>;
  /** Only these kinds of objects (default both). */
  kinds?: ('vm' | 'net')[];
  log: Logger;
}

export interface SweepResult {
  links: string[];
  tables: string[];
}

const LABEL = /^hearth:(vm|net):([^:\s]+):(\S+)$/;

export async function sweepLeftovers(i: SweepInput): Promise<SweepResult> {
  const removed: SweepResult = { links: [], tables: [] };
  const kinds = new Set(i.kinds ?? ['vm', 'net']);
  const ours = new Set(i.owners.filter(Boolean));
  const stale = (kind: string, id: string) =>
    kinds.has(kind as 'vm') && (kind === 'vm' ? !i.runningVms.has(id) : !i.networksInUse.has(id));
  // Links: VM TAPs first, then networks' tunnels and bridges (deleting a bridge frees its ports).
  const links: { name: string; kind: string; id: string }[] = [];
  for (const name of await readdir('/sys/class/net').catch(() => [] as string[])) {
    const alias = (await readFile(`/sys/class/net/${name}/ifalias`, 'utf8').catch(() => '')).trim();
    const m = LABEL.exec(alias);
    if (!m || !ours.has(m[3]!) || !stale(m[1]!, m[2]!) || i.keepBridges.has(name)) continue;
    links.push({ name, kind: m[1]!, id: m[2]! });
  }
  links.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'vm' ? -1 : 1));
  for (const l of links) {
    if (l.kind === 'net') await stopDns(l.name);
    await sh(['ip', 'link', 'del', 'dev', l.name]).then(
      () => removed.links.push(l.name),
      (e: Error) => i.log.warn({ link: l.name, err: e.message }, 'removing a leftover link failed'),
    );
  }
  const keepTables = new Set([...i.keepBridges].map(natTable));
  const ruleset = await sh(['nft', 'list', 'ruleset']).catch(() => '');
  for (const m of ruleset.matchAll(/^table (ip|inet|netdev) (hearth_\w+) \{\n\s*comment "([^"]+)"/gm)) {
    const [, family, table, comment] = m;
    const l = LABEL.exec(comment!);
    if (!l || !ours.has(l[3]!) || !stale(l[1]!, l[2]!) || keepTables.has(table!)) continue;
    await sh(['nft', 'delete', 'table', family!, table!]).then(
      () => removed.tables.push(table!),
      (e: Error) => i.log.warn({ table, err: e.message }, 'removing a leftover table failed'),
    );
  }
  if (removed.links.length || removed.tables.length) i.log.info(removed, 'removed leftover network objects');
  return removed;
}
