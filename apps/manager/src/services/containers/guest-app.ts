import { parseDuration, parseRestartPolicy, type GuestApp, type HealthCheck } from '@hearth/contract';
import type { ContainerSpec } from '../../db/schema.ts';
import type { Sealer } from '../../crypto/sealed.ts';
import { openSecrets } from '../open-secrets.ts';
import type { Stores } from '../../store/index.ts';
import type { VmRow } from '../../store/mappers.ts';
import { volumeSerial } from '../../store/volumes.ts';

/** The label that marks a VM as a container's (its value: the container id). */
export const CONTAINER_LABEL = 'hearth.container';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The subset of an OCI image's config kept in image meta (images/oci-import.ts). */
interface OciProcess {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workdir?: string;
  user?: string;
}

export function ociOf(meta: Record<string, unknown>): OciProcess {
  return (meta.oci as OciProcess | undefined) ?? {};
}

/**
 * The argv with Docker's override rules: an `entrypoint` replaces the image's ENTRYPOINT and drops
 * its CMD; a `command` replaces CMD; the process is ENTRYPOINT followed by CMD.
 */
export function containerArgv(
  spec: Pick<ContainerSpec, 'entrypoint' | 'command'>,
  oci: OciProcess,
): string[] {
  const entrypoint = spec.entrypoint ?? oci.entrypoint ?? [];
  const cmd = spec.command ?? (spec.entrypoint !== undefined ? [] : (oci.cmd ?? []));
  return [...entrypoint, ...cmd];
}

const ms = (d: string) => parseDuration(d) ?? 0;

function healthOf(h: HealthCheck): NonNullable<GuestApp['healthcheck']> {
  return {
    ...(h.cmd !== undefined ? { cmd: typeof h.cmd === 'string' ? ['/bin/sh', '-c', h.cmd] : h.cmd } : {}),
    ...(h.http ? { http: { port: h.http.port, path: h.http.path } } : {}),
    ...(h.tcp ? { tcp: { port: h.tcp.port } } : {}),
    intervalMs: Math.max(1, ms(h.interval)),
    timeoutMs: Math.max(1, ms(h.timeout)),
    retries: h.retries,
    startPeriodMs: ms(h.startPeriod),
  };
}

/**
 * The process the guest agent supervises in a container's VM, built at each boot: the argv by
 * Docker's rules, the image's ENV then the container's env and its secrets (opened now, so a
 * replaced secret takes effect at the next start and never sits in the VM record), workdir and
 * user overrides, restart policy, health check, stop signal and grace, and the named volumes
 * mounted at their targets. Undefined for a VM that is not a container's.
 */
export class ContainerApps {
  constructor(
    private readonly stores: Stores,
    private readonly sealer: Sealer,
  ) {}

  async appFor(vm: VmRow, imageMeta: Record<string, unknown>): Promise<GuestApp | null | undefined> {
    const id = vm.labels?.[CONTAINER_LABEL];
    if (!id) return undefined;
    const c = await this.stores.containers.getUnscoped(id);
    if (!c || c.vm_id !== vm.id) return undefined;
    const spec = c.spec;
    const oci = ociOf(imageMeta);
    const argv = containerArgv(spec, oci);
    if (!argv.length) return null;
    const env = new Map<string, string>([['PATH', DEFAULT_PATH]]);
    for (const kv of oci.env ?? []) {
      const i = kv.indexOf('=');
      if (i > 0) env.set(kv.slice(0, i), kv.slice(i + 1));
    }
    for (const [k, v] of Object.entries(spec.env ?? {})) env.set(k, v);
    const secrets = await openSecrets(
      this.stores,
      this.sealer,
      c.project,
      spec.secretEnv ?? {},
      `Starting container "${c.name}"`,
    );
    for (const [k, v] of Object.entries(secrets)) env.set(k, v);
    const attached = await this.stores.volumes.forVm(vm.id);
    const byName = new Map(attached.map((v) => [v.name, v]));
    const mounts = (spec.volumes ?? []).flatMap((m) => {
      const v = byName.get(m.source);
      return v ? [{ serial: volumeSerial(v.id), target: m.target, readOnly: m.readOnly }] : [];
    });
    const { policy, maxRetries } = parseRestartPolicy(spec.restart);
    return {
      argv,
      env: [...env].map(([k, v]) => `${k}=${v}`),
      workdir: spec.workdir ?? (oci.workdir || '/'),
      user: spec.user ?? oci.user ?? '',
      restart: policy,
      maxRetries,
      ...(spec.healthcheck ? { healthcheck: healthOf(spec.healthcheck) } : {}),
      stopSignal: spec.stopSignal,
      stopGraceMs: spec.stopGraceSeconds * 1000,
      mounts,
      console: false,
    };
  }
}
