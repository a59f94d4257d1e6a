import type { Command } from 'commander';
import { ContainerState, type ContainerStats } from '@hearth/contract';
import type { HearthClient } from '@hearth/sdk';
import { UsageError } from '../usage-error.ts';
import { humanDuration, psTable } from '../container-text.ts';
import { mib, table } from '../format.ts';
import { printJson, reportError } from '../output.ts';
import { collect } from '../run-body.ts';
import { importWithProgress } from './images.ts';
import { listContainers } from './container-api.ts';
import { act } from './vm.ts';

/** `--filter label=K[=V]`, `name=N`, `status=S` (Docker's ps filters the API answers). */
function psFilters(items: string[]): { label?: string; name?: string; state?: ContainerState } {
  const out: { label?: string; name?: string; state?: ContainerState } = {};
  for (const f of items) {
    const i = f.indexOf('=');
    const [k, v] = [f.slice(0, i), f.slice(i + 1)];
    if (i < 1 || !v)
      throw new UsageError(`--filter ${f} must look like label=KEY[=VALUE], name=NAME or status=STATE.`);
    if (k === 'label') out.label = v;
    else if (k === 'name') out.name = v;
    else if (k === 'status') {
      const state = v === 'created' ? 'creating' : v;
      if (!(ContainerState.options as readonly string[]).includes(state)) {
        throw new UsageError(`--filter status=${v} is not a container state.`);
      }
      out.state = state as ContainerState;
    } else throw new UsageError(`--filter ${k} is not supported (label, name or status).`);
  }
  return out;
}

function statsRow(name: string, s: ContainerStats): string[] {
  const n = (v: number | null, f: (x: number) => string) => (v === null ? '--' : f(v));
  return [
    name,
    n(s.cpuPercent, (x) => `${x.toFixed(2)}%`),
    `${n(s.memoryBytes, mib)} / ${n(s.memoryLimitBytes, mib)}`,
    s.memoryBytes !== null && s.memoryLimitBytes
      ? `${((100 * s.memoryBytes) / s.memoryLimitBytes).toFixed(2)}%`
      : '--',
    `${n(s.netRxBytes, mib)} / ${n(s.netTxBytes, mib)}`,
    `${n(s.diskReadBytes, mib)} / ${n(s.diskWriteBytes, mib)}`,
    n(s.pids, String),
  ];
}

async function printStats(c: HearthClient, json: boolean, targets: string[]): Promise<void> {
  const rows: string[][] = [];
  const all: (ContainerStats & { container: string })[] = [];
  for (const t of targets) {
    const s = await c.call('containerStats', { params: { id: t } });
    rows.push(statsRow(t, s));
    all.push({ container: t, ...s });
  }
  if (json) return printJson(all);
  console.log(table(['NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'], rows));
}

export function containerVerbs(program: Command): void {
  program
    .command('ps')
    .description('List containers (docker ps): running ones, -a for all')
    .option('-a, --all', 'also exited and failed containers')
    .option('-q, --quiet', 'ids only')
    .option('-f, --filter <FILTER>', 'label=KEY[=VALUE], name=NAME or status=STATE (repeatable)', collect)
    .action(
      act(program, async (c, json, o: { all?: boolean; quiet?: boolean; filter?: string[] }) => {
        const items = await listContainers(c, { all: o.all, ...psFilters(o.filter ?? []) });
        if (json) return printJson(items);
        if (o.quiet) return items.forEach((i) => console.log(i.id));
        console.log(psTable(items));
      }),
    );

  program
    .command('kill <container...>')
    .description('Send a signal to the app of containers (default SIGKILL)')
    .option('-s, --signal <signal>', 'signal name, e.g. SIGHUP', 'SIGKILL')
    .action(
      act(program, async (c, json, ids: string[], o: { signal: string }) => {
        const signal = o.signal.toUpperCase();
        for (const id of ids) {
          // The route table's verb() helper drops the body's type (contract): the body is checked by the server.
          const ct = await c.call('killContainer', { params: { id }, body: { signal } as never });
          if (json) printJson(ct);
          else console.log(id);
        }
      }),
    );

  program
    .command('top <container>')
    .description('Processes in a container')
    .action(
      act(program, async (c, json, id: string) => {
        const list = await c.call('containerTop', { params: { id } });
        if (json) return printJson(list.items);
        const now = Date.now();
        console.log(
          table(
            ['PID', 'RUNNING FOR', 'COMMAND'],
            list.items.map((p) => [
              String(p.pid),
              humanDuration(now - Date.parse(p.startedAt)),
              p.argv.join(' '),
            ]),
          ),
        );
      }),
    );

  program
    .command('stats <container...>')
    .description('CPU, memory, network and disk use of containers (live; --no-stream: once)')
    .option('--no-stream', 'print once and return')
    .action(
      act(program, async (c, json, ids: string[], o: { stream: boolean }) => {
        if (!o.stream || json || !process.stdout.isTTY) return printStats(c, json, ids);
        // Live: redraw until Ctrl-C, each round after the previous one's answers.
        let stop = false;
        process.once('SIGINT', () => (stop = true));
        while (!stop) {
          process.stdout.write('\x1b[2J\x1b[H');
          await printStats(c, false, ids).catch((e: unknown) => {
            stop = true;
            process.exitCode = reportError(e, false);
          });
          await new Promise((r) => setTimeout(r, 2000).unref());
        }
      }),
    );

  program
    .command('pull <image>')
    .description('Import an OCI image from its registry (docker pull), with progress')
    .action(
      act(program, async (c, json, ref: string) => {
        const { image, cached } = await importWithProgress(c, { ref, source: 'oci' }, json);
        if (json) return printJson(image);
        console.log(
          `${cached ? 'Image is up to date for' : 'Pulled'} ${ref} (${image.id}, sha256 ${image.sha256.slice(0, 12)})`,
        );
      }),
    );

  program
    .command('images')
    .description('List the rootfs images containers can run (docker images)')
    .option('-q, --quiet', 'ids only')
    .action(
      act(program, async (c, json, o: { quiet?: boolean }) => {
        const images = (await c.all('listImages')).filter((i) => i.kind === 'rootfs');
        if (json) return printJson(images);
        if (o.quiet) return images.forEach((i) => console.log(i.id));
        const now = Date.now();
        console.log(
          table(
            ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'],
            images.map((i) => {
              const ref = String((i.meta.oci as { ref?: string } | undefined)?.ref ?? i.name);
              const at = ref.lastIndexOf(':');
              const tagged = at > ref.lastIndexOf('/');
              return [
                tagged ? ref.slice(0, at) : ref,
                tagged ? ref.slice(at + 1) : '<none>',
                i.id,
                `${humanDuration(now - Date.parse(i.createdAt))} ago`,
                mib(i.sizeBytes),
              ];
            }),
          ),
        );
      }),
    );
}
