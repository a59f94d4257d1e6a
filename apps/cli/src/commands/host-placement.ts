import type { Command } from 'commander';
import { parseLabel, type Host, type PatchHostBody } from '@hearth/contract';
import { printJson } from '../output.ts';
import { UsageError } from '../usage-error.ts';
import { act } from './vm.ts';

/** `k=v` pairs from the command line into a record; a malformed one is a usage error naming it. */
export function labelPairs(items: string[], flag: string): Record<string, string> {
  return Object.fromEntries(
    items.map((kv) => {
      try {
        return parseLabel(kv);
      } catch {
        throw new UsageError(`${flag} ${kv} must look like key=value.`);
      }
    }),
  );
}

/** `disk=ssd,zone=eu` (by key; `-` for none): how host listings show labels. */
export const labelText = (labels: Record<string, string>): string =>
  Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',') || '-';

/** A ratio flag: a number, or `default` (the manager's). */
function ratioFlag(v: string | undefined, flag: string): number | null | undefined {
  if (v === undefined) return undefined;
  if (v === 'default') return null;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`${flag} ${v} must be a positive number or "default".`);
  return n;
}

function printHost(h: Host): void {
  const r = (x: number | null) => (x === null ? 'default' : String(x));
  console.log(
    `host ${h.name} (${h.id}): labels ${labelText(h.labels)}; overcommit cpu ${r(h.cpuOvercommit)}, memory ${r(h.memoryOvercommit)}`,
  );
}

/** `hearth host label HOST k=v... [k-]` and `hearth host update HOST` (administrators). */
export function hostPlacementCommands(program: Command, host: Command): void {
  host
    .command('label <host> <labels...>')
    .description('Set labels on a host (key=value) or remove them (key-); VMs select hosts by them')
    .action(
      act(program, async (c, json, id: string, items: string[]) => {
        const labels: PatchHostBody['labels'] = {};
        for (const item of items) {
          if (item.endsWith('-') && !item.includes('=')) labels[item.slice(0, -1)] = null;
          else Object.assign(labels, labelPairs([item], 'label'));
        }
        const h = await c.call('patchHost', { params: { id }, body: { labels } });
        if (json) return printJson(h);
        printHost(h);
      }),
    );
  host
    .command('update <host>')
    .description("Change a host's placement settings: labels and CPU/memory overcommit ratios")
    .option('--label <k=v...>', 'set a label (repeatable)')
    .option('--unlabel <key...>', 'remove a label (repeatable)')
    .option('--cpu-overcommit <ratio>', 'vCPUs promised per host CPU, or "default" (the manager\'s)')
    .option('--memory-overcommit <ratio>', 'guest memory promised per MiB of the host\'s, or "default"')
    .action(
      act(
        program,
        async (
          c,
          json,
          id: string,
          o: { label?: string[]; unlabel?: string[]; cpuOvercommit?: string; memoryOvercommit?: string },
        ) => {
          const cpu = ratioFlag(o.cpuOvercommit, '--cpu-overcommit');
          const memory = ratioFlag(o.memoryOvercommit, '--memory-overcommit');
          const labels = {
            ...labelPairs(o.label ?? [], '--label'),
            ...Object.fromEntries((o.unlabel ?? []).map((k) => [k, null])),
          };
          const body: PatchHostBody = {
            ...(Object.keys(labels).length ? { labels } : {}),
            ...(cpu !== undefined ? { cpuOvercommit: cpu } : {}),
            ...(memory !== undefined ? { memoryOvercommit: memory } : {}),
          };
          if (!Object.keys(body).length) {
            throw new UsageError(
              'Nothing to change: give --label, --unlabel, --cpu-overcommit or --memory-overcommit.',
            );
          }
          const h = await c.call('patchHost', { params: { id }, body });
          if (json) return printJson(h);
          printHost(h);
        },
      ),
    );
}
