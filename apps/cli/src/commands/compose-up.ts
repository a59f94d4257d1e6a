import { HearthError, type Container } from '@hearth/contract';
import type { HearthClient } from '@hearth/sdk';
import type { ComposeProject, PlannedService } from '../compose/load.ts';
import { CONFIG_HASH_LABEL, PROJECT_LABEL } from '../compose/service.ts';
import { listContainers, pullProgress, waitContainer } from './container-api.ts';

const say = (line: string) => process.stderr.write(`${line}\n`);

const ipv4 = (a: string) => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
function overlaps(a: string, b: string): boolean {
  const [na, la] = a.split('/') as [string, string];
  const [nb, lb] = b.split('/') as [string, string];
  const len = Math.min(Number(la), Number(lb));
  const mask = len === 0 ? 0 : 2 ** 32 - 2 ** (32 - len);
  return (ipv4(na) & mask) >>> 0 === (ipv4(nb) & mask) >>> 0;
}

/** A /24 under 10.213.0.0/16 that no network of the manager overlaps. */
export function freeSubnet(taken: string[]): string {
  for (let i = 0; i < 256; i++) {
    const cidr = `10.213.${i}.0/24`;
    if (!taken.some((t) => overlaps(t, cidr))) return cidr;
  }
  throw new HearthError('QUOTA_EXCEEDED', 'No free /24 under 10.213.0.0/16 for a compose network.', {
    hint: 'Remove unused networks (`hearth network ls`), or declare an external network in the compose file.',
  });
}

async function ensureNetworks(c: HearthClient, p: ComposeProject): Promise<void> {
  const existing = await c.all('listNetworks');
  for (const n of p.networks) {
    if (existing.some((e) => e.name === n.name || e.id === n.name)) continue;
    if (n.external) {
      throw new HearthError(
        'NETWORK_NOT_FOUND',
        `The external network ${n.name} (networks.${n.key}) does not exist.`,
      );
    }
    const made = await c.call('createNetwork', {
      body: {
        name: n.name,
        mode: 'nat',
        cidr: freeSubnet(existing.flatMap((e) => (e.cidr ? [e.cidr] : []))),
      },
    });
    existing.push(made);
    say(`Network ${made.name} created (${made.cidr})`);
  }
}

async function waitDependencies(c: HearthClient, s: PlannedService, byService: Map<string, Container>) {
  for (const d of s.dependsOn) {
    const dep = byService.get(d.service)!;
    if (d.condition === 'service_healthy') {
      say(`Container ${dep.name} waiting to be healthy`);
      await waitContainer(c, dep.id, 'healthy', 900);
      say(`Container ${dep.name} healthy`);
    } else if (d.condition === 'service_completed_successfully') {
      const done = await waitContainer(c, dep.id, 'exited', 3600);
      if (done.exitCode !== 0) {
        throw new HearthError(
          'CONTAINER_FAILED',
          `services.${s.name} depends on ${d.service} completing successfully, but ${dep.name} exited with code ${done.exitCode ?? 'none'}.`,
        );
      }
    }
  }
}

/** Creates (or keeps, starts, recreates) each service's container in dependency order. */
export async function composeUp(
  c: HearthClient,
  p: ComposeProject,
  o: { wait: boolean; quiet: boolean; timeoutS: number },
): Promise<Container[]> {
  for (const w of p.warnings) say(`WARN: ${w}`);
  await ensureNetworks(c, p);
  const existing = await listContainers(c, { all: true, label: `${PROJECT_LABEL}=${p.name}` });
  const planned = new Set(p.services.map((s) => s.body.name));
  const orphans = existing.filter((e) => !planned.has(e.name));
  if (orphans.length) {
    say(
      `WARN: containers of services no longer in the file: ${orphans.map((x) => x.name).join(', ')} (down removes them)`,
    );
  }
  const byService = new Map<string, Container>();
  for (const s of p.services) {
    await waitDependencies(c, s, byService);
    const body = { ...s.body, ...(c.project ? { project: c.project } : {}) };
    let ct = existing.find((e) => e.name === body.name) ?? null;
    if (ct && ct.labels[CONFIG_HASH_LABEL] !== body.labels![CONFIG_HASH_LABEL]) {
      await c.call('deleteContainer', { params: { id: ct.id }, query: { force: 'true' } });
      await waitContainer(c, ct.id, 'removed', 900).catch((e: unknown) => {
        if (!(e instanceof HearthError && e.code === 'CONTAINER_NOT_FOUND')) throw e;
      });
      say(`Container ${ct.name} removed (its configuration changed)`);
      ct = null;
    }
    if (!ct) {
      ct = await c.call('createContainer', { body });
      say(`Container ${ct.name} created`);
    } else if (['exited', 'failed', 'creating'].includes(ct.state)) {
      ct = await c.call('startContainer', { params: { id: ct.id } });
      say(`Container ${ct.name} starting`);
    } else say(`Container ${ct.name} is ${ct.state}`);
    const progress = pullProgress(o.quiet);
    ct = await waitContainer(c, ct.id, 'running', o.timeoutS, { onPoll: progress, step: 2 });
    say(`Container ${ct.name} started`);
    byService.set(s.name, ct);
  }
  if (o.wait) {
    for (const s of p.services) {
      const ct = byService.get(s.name)!;
      const done = await waitContainer(c, ct.id, s.body.healthcheck ? 'healthy' : 'running', o.timeoutS);
      byService.set(s.name, done);
      say(`Container ${ct.name} ${s.body.healthcheck ? 'healthy' : 'running'}`);
    }
  }
  return p.services.map((s) => byService.get(s.name)!);
}

const gone = (e: unknown) =>
  e instanceof HearthError &&
  ['CONTAINER_NOT_FOUND', 'NETWORK_NOT_FOUND', 'VOLUME_NOT_FOUND', 'CONTAINER_INVALID_STATE'].includes(
    e.code,
  );

/** Stops and removes the project's containers (dependents first), then its networks, and volumes with -v. */
export async function composeDown(
  c: HearthClient,
  p: ComposeProject,
  o: { volumes: boolean },
): Promise<void> {
  const existing = await listContainers(c, { all: true, label: `${PROJECT_LABEL}=${p.name}` });
  const rank = new Map(p.services.map((s, i) => [s.body.name!, i]));
  // Orphans (rank -1 → first), then the services in reverse start order.
  const order = [...existing].sort((a, b) => (rank.get(b.name) ?? Infinity) - (rank.get(a.name) ?? Infinity));
  for (const ct of order) {
    if (['running', 'starting', 'restarting', 'paused'].includes(ct.state)) {
      await c.call('stopContainer', { params: { id: ct.id } }).catch((e: unknown) => {
        if (!gone(e)) throw e;
      });
      await waitContainer(c, ct.id, 'exited', ct.stopGraceSeconds + 900).catch((e: unknown) => {
        if (!gone(e)) throw e;
      });
      say(`Container ${ct.name} stopped`);
    }
    await c
      .call('deleteContainer', { params: { id: ct.id }, query: { force: 'true' } })
      .catch((e: unknown) => {
        if (!gone(e)) throw e;
      });
    await waitContainer(c, ct.id, 'removed', 900).catch((e: unknown) => {
      if (!gone(e)) throw e;
    });
    say(`Container ${ct.name} removed`);
  }
  for (const n of p.networks.filter((x) => !x.external)) {
    const removed = await c.call('deleteNetwork', { params: { id: n.name } }).then(
      () => true,
      (e: unknown) => {
        if (!gone(e)) throw e;
        return false;
      },
    );
    if (removed) say(`Network ${n.name} removed`);
  }
  if (!o.volumes) return;
  for (const v of p.volumes.filter((x) => !x.external)) {
    const removed = await c.call('deleteVolume', { params: { id: v.name } }).then(
      () => true,
      (e: unknown) => {
        if (!gone(e)) throw e;
        return false;
      },
    );
    if (removed) say(`Volume ${v.name} removed`);
  }
}
