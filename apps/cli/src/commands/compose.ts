import type { Command } from 'commander';
import type { Container } from '@hearth/contract';
import type { HearthClient } from '@hearth/sdk';
import { UsageError } from '../usage-error.ts';
import { loadCompose, type ComposeProject } from '../compose/load.ts';
import { PROJECT_LABEL, SERVICE_LABEL } from '../compose/service.ts';
import { commandText, containerStatus, portsText } from '../container-text.ts';
import { table } from '../format.ts';
import { printJson } from '../output.ts';
import { composeDown, composeUp } from './compose-up.ts';
import { listContainers } from './container-api.ts';
import { printLogs } from './container-logs.ts';
import { act } from './vm.ts';

interface ComposeFlags {
  file?: string;
  projectName?: string;
}

/** Follows (or prints) the logs of the given containers, each line prefixed with its service. */
async function projectLogs(
  c: HearthClient,
  containers: Container[],
  o: { follow?: boolean; tail?: string; timestamps?: boolean; signal?: AbortSignal },
): Promise<void> {
  const label = (ct: Container) => `${ct.labels[SERVICE_LABEL] ?? ct.name}-1`;
  const width = Math.max(0, ...containers.map((ct) => label(ct).length));
  await Promise.all(
    containers.map((ct) => printLogs(c, ct.id, { ...o, prefix: `${label(ct).padEnd(width)}  | ` })),
  );
}

/** Ctrl-C while following: `onStop` runs once (compose up stops the services, as docker compose does). */
function onCtrlC(onStop: () => void): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const handler = () => {
    ac.abort();
    onStop();
  };
  process.once('SIGINT', handler);
  return { signal: ac.signal, dispose: () => process.off('SIGINT', handler) };
}

export function composeCommands(program: Command): void {
  const compose = program
    .command('compose')
    .description('Run a Compose file: each service a container on a per-project network (docker compose)')
    .option('-f, --file <file>', 'compose file (default compose.yaml, compose.yml, docker-compose.y(a)ml)')
    .option(
      '-p, --project-name <name>',
      'project name (default: name: in the file, else the directory name)',
    );
  const load = (): ComposeProject => {
    const f = compose.opts<ComposeFlags>();
    return loadCompose({ file: f.file, project: f.projectName });
  };

  compose
    .command('up [service...]')
    .description(
      'Create and start the services in dependency order; without -d follow their logs (Ctrl-C stops them)',
    )
    .option('-d, --detach', 'return once the services run')
    .option('--wait', 'wait until every service is running, and healthy when it has a health check')
    .option('--wait-timeout <seconds>', 'how long each wait may take', (v) => Number(v), 900)
    .action(
      act(
        program,
        async (c, json, only: string[], o: { detach?: boolean; wait?: boolean; waitTimeout: number }) => {
          const p = load();
          const unknown = only.filter((s) => !p.services.some((x) => x.name === s));
          if (unknown.length) throw new UsageError(`No such service in ${p.file}: ${unknown.join(', ')}.`);
          if (only.length)
            p.services = p.services.filter((s) => only.includes(s.name) || needed(p, only).has(s.name));
          const started = await composeUp(c, p, {
            wait: Boolean(o.wait),
            quiet: json,
            timeoutS: o.waitTimeout,
          });
          if (json) return printJson(started);
          if (o.detach || o.wait) return;
          let stopping = false;
          const ctrl = onCtrlC(() => {
            stopping = true;
            process.stderr.write('Gracefully stopping... (press Ctrl-C again to force)\n');
          });
          try {
            await projectLogs(c, started, { follow: true, signal: ctrl.signal });
          } finally {
            ctrl.dispose();
          }
          if (stopping) {
            for (const ct of [...started].reverse()) {
              await c.call('stopContainer', { params: { id: ct.id } }).catch(() => undefined);
              process.stderr.write(`Container ${ct.name} stopping\n`);
            }
          }
        },
      ),
    );

  compose
    .command('down')
    .description(
      "Stop and remove the project's containers (dependents first) and networks; -v: its volumes too",
    )
    .option('-v, --volumes', 'also delete the named volumes the file declares')
    .action(
      act(program, async (c, _json, o: { volumes?: boolean }) => {
        await composeDown(c, load(), { volumes: Boolean(o.volumes) });
      }),
    );

  compose
    .command('ps')
    .description("The project's containers")
    .option('-a, --all', 'also stopped ones')
    .action(
      act(program, async (c, json, o: { all?: boolean }) => {
        const p = load();
        const items = await listContainers(c, { all: o.all, label: `${PROJECT_LABEL}=${p.name}` });
        if (json) return printJson(items);
        console.log(
          table(
            ['NAME', 'IMAGE', 'COMMAND', 'SERVICE', 'STATUS', 'PORTS'],
            items.map((ct) => [
              ct.name,
              ct.image,
              commandText(ct),
              ct.labels[SERVICE_LABEL] ?? '-',
              containerStatus(ct),
              portsText(ct),
            ]),
          ),
        );
      }),
    );

  compose
    .command('logs [service...]')
    .description("The services' output, each line prefixed with its service")
    .option('-f, --follow', 'keep printing new lines')
    .option('-n, --tail <n>', 'lines from the end of each (or all)')
    .option('-t, --timestamps', 'prefix each line with its time')
    .action(
      act(
        program,
        async (c, _json, only: string[], o: { follow?: boolean; tail?: string; timestamps?: boolean }) => {
          const p = load();
          const unknown = only.filter((s) => !p.services.some((x) => x.name === s));
          if (unknown.length) throw new UsageError(`No such service in ${p.file}: ${unknown.join(', ')}.`);
          const items = (await listContainers(c, { all: true, label: `${PROJECT_LABEL}=${p.name}` })).filter(
            (ct) => !only.length || only.includes(ct.labels[SERVICE_LABEL] ?? ''),
          );
          const ctrl = onCtrlC(() => undefined);
          try {
            await projectLogs(c, items, { ...o, signal: ctrl.signal });
          } finally {
            ctrl.dispose();
          }
        },
      ),
    );
}

/** The services the named ones depend on, transitively (`up web` also starts db). */
function needed(p: ComposeProject, only: string[]): Set<string> {
  const out = new Set<string>();
  const visit = (s: string) => {
    for (const d of p.services.find((x) => x.name === s)?.dependsOn ?? []) {
      if (!out.has(d.service)) {
        out.add(d.service);
        visit(d.service);
      }
    }
  };
  only.forEach(visit);
  return out;
}
