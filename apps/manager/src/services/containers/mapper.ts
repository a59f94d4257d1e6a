import type { Container } from '@hearth/contract';
import type { ContainerRow } from '../../store/containers.ts';

const iso = (d: Date | string | null | undefined) => (d ? new Date(d).toISOString() : null);

/** A container as the API shows it: its record and what its VM and app report now. */
export function containerFromRow(r: ContainerRow): Container {
  const s = r.spec;
  const app = r.vm_app;
  const exited = r.state === 'exited';
  const reason =
    r.phase !== 'vm'
      ? r.phase_reason
      : r.state === 'failed'
        ? (r.vm_reason ?? r.phase_reason)
        : exited
          ? (app?.reason ?? r.phase_reason)
          : null;
  return {
    id: r.id,
    name: r.name,
    project: r.project,
    image: r.image,
    imageId: r.image_id,
    imageDigest: r.image_digest,
    entrypoint: s.entrypoint ?? null,
    command: s.command ?? null,
    workdir: s.workdir ?? null,
    user: s.user ?? null,
    env: s.env ?? {},
    secretEnv: s.secretEnv ?? {},
    ports: s.ports ?? [],
    volumes: s.volumes ?? [],
    vcpus: s.vcpus,
    memoryMib: s.memoryMib,
    network: s.network ?? null,
    networkAliases: s.networkAliases ?? [],
    labels: s.labels ?? {},
    restart: s.restart,
    healthcheck: s.healthcheck ?? null,
    stopSignal: s.stopSignal,
    stopGraceSeconds: s.stopGraceSeconds,
    state: r.state,
    stateReason: reason,
    health: s.healthcheck && r.state === 'running' ? (app?.health ?? 'starting') : null,
    exitCode: exited ? (app?.exitCode ?? null) : null,
    restarts: r.restarts + (app?.restarts ?? 0),
    pull: r.phase === 'pulling' ? (r.pull ?? { percent: null, message: 'pulling' }) : null,
    vm: r.vm_id,
    host: r.vm_host,
    ip: r.vm_ip,
    createdAt: new Date(r.created_at).toISOString(),
    startedAt: iso(app?.startedAt ?? r.vm_started_at),
    finishedAt: exited ? iso(app?.finishedAt ?? r.vm_updated_at) : null,
  };
}
