import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** What runs and what lies on the machine, read from /proc, the namespaces and the data dirs. */

export interface VmmProc {
  pid: number;
  vmId: string;
  /** `net:[inode]` of its network namespace. */
  netns: string;
  incoming: boolean;
}

/** Every QEMU or Firecracker process on the machine that names a Hearth VM. */
export function vmmProcs(): VmmProc[] {
  const out: VmmProc[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let argv: string[];
    let netns: string;
    try {
      argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      netns = readlinkSync(`/proc/${d}/ns/net`);
    } catch {
      continue;
    }
    if (!/qemu-system|firecracker/.test(argv[0] ?? '')) continue;
    const id = argv.map((a) => /^hearth-(vm_\S+)$/.exec(a)?.[1]).find(Boolean);
    if (id) out.push({ pid: Number(d), vmId: id, netns, incoming: argv.includes('-incoming') });
  }
  return out;
}

/** `net:[inode]` of a named network namespace, as /proc/PID/ns/net reads for its processes. */
export function netnsId(name: string): string {
  return `net:[${statSync(`/run/netns/${name}`).ino}]`;
}

export interface Link {
  name: string;
  alias: string;
}

export function nsLinks(ns: string): Link[] {
  const raw = execFileSync('ip', ['-n', ns, '-j', 'link', 'show'], { encoding: 'utf8' });
  return (JSON.parse(raw) as { ifname: string; ifalias?: string }[]).map((l) => ({
    name: l.ifname,
    alias: l.ifalias ?? '',
  }));
}

export interface NftTable {
  family: string;
  name: string;
  comment: string;
}

export function nsTables(ns: string): NftTable[] {
  const ruleset = execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'ruleset'], { encoding: 'utf8' });
  const out: NftTable[] = [];
  for (const m of ruleset.matchAll(/^table (\w+) (\S+) \{\n(?:\s*comment "([^"]*)")?/gm))
    out.push({ family: m[1]!, name: m[2]!, comment: m[3] ?? '' });
  return out;
}

/** Entries of a directory; none when it does not exist. */
export function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export const vmDirs = (hostDir: string) => entries(join(hostDir, 'agent', 'vms'));
export const snapshotDirs = (hostDir: string) => entries(join(hostDir, 'agent', 'snapshots'));

/** `hearth:<kind>:<id>:<host id>`, the label the agent puts on links and tables it makes. */
export function parseLabel(s: string): { kind: string; id: string; owner: string } | null {
  const m = /^hearth:(vm|net):([^:\s]+):(\S+)$/.exec(s);
  return m ? { kind: m[1]!, id: m[2]!, owner: m[3]! } : null;
}
