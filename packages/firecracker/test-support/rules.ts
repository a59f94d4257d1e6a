import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';

/**
 * Firecracker's behaviour beyond the YAML (../shared/firecracker/NOTES.md): pre/post-boot rules,
 * set-once resources, ids, files that must or must not exist, snapshot states. Pure state;
 * the server around it (api-checker.ts) does transport, schema validation and the call log.
 */
export type Answer = { status: number; body?: unknown };

const ID = /^[A-Za-z0-9_]+$/;
const MAC = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;
export const MMDS_LIMIT = 51_200;

const fault = (status: number, msg: string): Answer => ({ status, body: { fault_message: msg } });
export const bad = (msg: string) => fault(400, msg);
const ok: Answer = { status: 204 };

const PRE_BOOT = new Set([
  'PUT /logger',
  'PUT /metrics',
  'PUT /machine-config',
  'PATCH /machine-config',
  'PUT /boot-source',
  'PUT /drives/{drive_id}',
  'PUT /network-interfaces/{iface_id}',
  'PUT /vsock',
  'PUT /mmds/config',
  'PUT /balloon',
  'PUT /entropy',
  'PUT /cpu-config',
  'PUT /snapshot/load',
]);
const POST_BOOT = new Set([
  'PATCH /vm',
  'PUT /snapshot/create',
  'PATCH /drives/{drive_id}',
  'PATCH /network-interfaces/{iface_id}',
  'PATCH /balloon',
  'PATCH /balloon/statistics',
]);
/** What may precede PUT /snapshot/load on a fresh process. */
const BEFORE_LOAD = new Set(['PUT /logger', 'PUT /metrics', 'PUT /mmds', 'PATCH /mmds']);

type Obj = Record<string, unknown>;

export interface VmConfig {
  machine: Obj;
  bootSource: Obj | null;
  drives: Obj[];
  ifaces: Obj[];
  vsock: Obj | null;
  mmdsConfig: Obj | null;
  balloon: Obj | null;
  entropy: Obj | null;
}

export interface ModelEvents {
  /** A vsock uds_path was configured: the host side must now listen there. */
  vsock(path: string): void;
  action(type: 'InstanceStart' | 'SendCtrlAltDel' | 'FlushMetrics' | 'SnapshotLoaded'): void;
}

export class FirecrackerModel {
  state: 'Not started' | 'Running' | 'Paused' = 'Not started';
  cfg: VmConfig = {
    machine: { vcpu_count: 1, mem_size_mib: 128, smt: false, track_dirty_pages: false },
    bootSource: null,
    drives: [],
    ifaces: [],
    vsock: null,
    mmdsConfig: null,
    balloon: null,
    entropy: null,
  };
  logger: Obj | null = null;
  metrics: Obj | null = null;
  mmds: unknown = null;
  /** Anything but logger/metrics/MMDS data was configured: snapshot load is no longer allowed. */
  used = false;
  /** A failed snapshot load leaves the process unusable (the real one exits). */
  dead = false;

  constructor(
    readonly version: string,
    readonly id: string,
    private readonly cwd: string,
    private readonly events: ModelEvents,
  ) {}

  private file(p: string): string {
    return isAbsolute(p) ? p : join(this.cwd, p);
  }

  get started(): boolean {
    return this.state !== 'Not started';
  }

  handle(method: string, template: string, params: Record<string, string>, body: Obj): Answer {
    const key = `${method} ${template}`;
    if (PRE_BOOT.has(key) && this.started)
      return bad('The requested operation is not supported after starting the microVM.');
    if (POST_BOOT.has(key) && !this.started)
      return bad('The requested operation is not supported before starting the microVM.');
    const answer = this.dispatch(key, params, body);
    // Only configuration that took effect makes the process "used" for snapshot load.
    if (answer.status < 300 && method !== 'GET' && !BEFORE_LOAD.has(key) && key !== 'PUT /actions')
      this.used = true;
    return answer;
  }

  private dispatch(key: string, params: Record<string, string>, body: Obj): Answer {
    switch (key) {
      case 'GET /':
        return {
          status: 200,
          body: { app_name: 'Firecracker', id: this.id, state: this.state, vmm_version: this.version },
        };
      case 'GET /version':
        return { status: 200, body: { firecracker_version: this.version } };
      case 'GET /machine-config':
        return { status: 200, body: this.cfg.machine };
      case 'GET /vm/config':
        return { status: 200, body: this.fullConfig() };
      case 'GET /mmds':
        return this.mmds === null
          ? fault(404, 'The MMDS data store is not initialized.')
          : { status: 200, body: this.mmds };
      case 'GET /balloon':
        return this.cfg.balloon
          ? { status: 200, body: this.cfg.balloon }
          : bad('Balloon device not configured.');
      case 'PUT /logger':
      case 'PUT /metrics': {
        const which = key === 'PUT /logger' ? 'logger' : 'metrics';
        if (this[which]) return bad(`Reinitialization of ${which} not allowed.`);
        const p = String(body[which === 'logger' ? 'log_path' : 'metrics_path'] ?? '');
        if (which === 'metrics' || p) {
          if (!existsSync(this.file(p)))
            return bad(`Failed to open ${which} file ${p}: No such file or directory (os error 2)`);
        }
        this[which] = body;
        return ok;
      }
      case 'PUT /machine-config':
      case 'PATCH /machine-config': {
        const next: Obj = key.startsWith('PUT')
          ? { smt: false, track_dirty_pages: false, ...body }
          : { ...this.cfg.machine, ...body };
        const vcpus = Number(next.vcpu_count);
        if (next.smt === true && vcpus > 1 && vcpus % 2 === 1)
          return bad(
            'The vCPU number is invalid! The vCPU number can only be 1 or an even number when SMT is enabled.',
          );
        if (Number(next.mem_size_mib) < 1) return bad('The memory size (MiB) is invalid.');
        if (next.huge_pages === '2M' && Number(next.mem_size_mib) % 2)
          return bad('The memory size is not a multiple of the huge page size.');
        this.cfg.machine = next;
        return ok;
      }
      case 'PUT /boot-source':
        for (const f of ['kernel_image_path', 'initrd_path'] as const) {
          const p = body[f];
          if (typeof p === 'string' && !existsSync(this.file(p)))
            return bad(
              `The ${f === 'kernel_image_path' ? 'kernel' : 'initrd'} file cannot be opened: No such file or directory (os error 2)`,
            );
        }
        this.cfg.bootSource = body;
        return ok;
      case 'PUT /drives/{drive_id}':
      case 'PATCH /drives/{drive_id}':
        return this.device('drive_id', this.cfg.drives, params, body, key.startsWith('PUT'));
      case 'PUT /network-interfaces/{iface_id}':
      case 'PATCH /network-interfaces/{iface_id}':
        return this.device('iface_id', this.cfg.ifaces, params, body, key.startsWith('PUT'));
      case 'PUT /vsock': {
        if (Number(body.guest_cid) < 3) return bad('Invalid guest CID.');
        const p = String(body.uds_path);
        if (existsSync(this.file(p)))
          return bad(
            `Cannot create backend for vsock device: UnixBind(Os { code: 98, kind: AddrInUse, message: "Address in use" })`,
          );
        this.cfg.vsock = body;
        this.events.vsock(this.file(p));
        return ok;
      }
      case 'PUT /mmds/config': {
        const ids = body.network_interfaces as string[];
        if (!ids.length)
          return bad('The list of network interface IDs that allow forwarding MMDS requests is empty.');
        const unknown = ids.filter((i) => !this.cfg.ifaces.some((n) => n.iface_id === i));
        if (unknown.length)
          return bad(
            `The list of network interface IDs provided contains at least one ID that does not correspond to any existing network interface: ${unknown.join(', ')}`,
          );
        this.cfg.mmdsConfig = body;
        return ok;
      }
      case 'PUT /mmds':
      case 'PATCH /mmds': {
        if (JSON.stringify(body).length > MMDS_LIMIT)
          return fault(413, `The MMDS data store is too large (limit ${MMDS_LIMIT} bytes).`);
        this.mmds = key.startsWith('PUT') ? body : { ...(this.mmds as Obj | null), ...body };
        return ok;
      }
      case 'PUT /balloon':
        if (Number(body.amount_mib) > Number(this.cfg.machine.mem_size_mib))
          return bad('Amount of pages requested is too large.');
        this.cfg.balloon = body;
        return ok;
      case 'PATCH /balloon':
      case 'PATCH /balloon/statistics':
        if (!this.cfg.balloon) return bad('Balloon device not configured.');
        this.cfg.balloon = { ...this.cfg.balloon, ...body };
        return ok;
      case 'PUT /entropy':
        this.cfg.entropy = body;
        return ok;
      case 'PUT /cpu-config':
        return ok;
      case 'PATCH /vm':
        this.state = body.state === 'Paused' ? 'Paused' : 'Running';
        return ok;
      case 'PUT /actions':
        return this.action(String(body.action_type));
      case 'PUT /snapshot/create':
        return this.snapshotCreate(body);
      case 'PUT /snapshot/load':
        return this.snapshotLoad(body);
    }
    return bad(`Invalid request method and/or path: ${key}.`);
  }

  private device(
    idKey: string,
    list: Obj[],
    params: Record<string, string>,
    body: Obj,
    put: boolean,
  ): Answer {
    const pathId = Object.values(params)[0] ?? '';
    if (!ID.test(pathId)) return bad(`Invalid ID: ${pathId} (only letters, digits and _ are allowed).`);
    if (body[idKey] !== pathId)
      return bad(
        `The id from the path [${pathId}] does not match the id from the body [${String(body[idKey])}]!`,
      );
    const existing = list.findIndex((d) => d[idKey] === pathId);
    if (!put) {
      if (existing < 0) return bad(`Invalid ID: no device with id ${pathId}.`);
      list[existing] = { ...list[existing], ...body };
      return ok;
    }
    if (idKey === 'drive_id') {
      if (typeof body.path_on_host === 'string' && !existsSync(this.file(body.path_on_host)))
        return bad(
          `Unable to open the block device backing file ${body.path_on_host}: No such file or directory (os error 2)`,
        );
      if (
        body.is_root_device === true &&
        list.some((d) => d.is_root_device === true && d.drive_id !== pathId)
      )
        return bad('A root block device already exists!');
    } else {
      const tap = String(body.host_dev_name);
      if (!tap || tap.length > 15) return bad(`Open tap device failed: Invalid TAP name ${tap}.`);
      if (typeof body.guest_mac === 'string' && !MAC.test(body.guest_mac))
        return bad(`Invalid MAC address: ${body.guest_mac}.`);
      if (list.some((d) => d.host_dev_name === tap && d.iface_id !== pathId))
        return bad(`The host device name ${tap} is already in use.`);
    }
    if (existing >= 0) list[existing] = body;
    else list.push(body);
    return ok;
  }

  private action(type: string): Answer {
    if (type === 'InstanceStart') {
      if (this.started) return bad('The requested operation is not supported after starting the microVM.');
      if (!this.cfg.bootSource) return bad('Cannot start microvm without kernel configuration.');
      const root = this.cfg.drives.some((d) => d.is_root_device === true);
      if (!root && !this.cfg.bootSource.initrd_path)
        return bad('Cannot start microvm without a root block device or an initrd.');
      this.used = true;
      this.state = 'Running';
    } else if (!this.started) {
      return bad('The requested operation is not supported before starting the microVM.');
    } else if (type === 'FlushMetrics' && !this.metrics) {
      return bad('The metrics system is not initialized.');
    }
    this.events.action(type as 'InstanceStart');
    return ok;
  }

  fullConfig(): Obj {
    const c = this.cfg;
    return {
      'machine-config': c.machine,
      ...(c.bootSource ? { 'boot-source': c.bootSource } : {}),
      drives: c.drives,
      'network-interfaces': c.ifaces,
      ...(c.vsock ? { vsock: c.vsock } : {}),
      ...(c.mmdsConfig ? { 'mmds-config': c.mmdsConfig } : {}),
      ...(c.balloon ? { balloon: c.balloon } : {}),
      ...(c.entropy ? { entropy: c.entropy } : {}),
      ...(this.logger ? { logger: this.logger } : {}),
      ...(this.metrics ? { metrics: this.metrics } : {}),
    };
  }

  /** The "snapshot" is the configuration as JSON: enough for load to enforce what the real one does. */
  private snapshotCreate(body: Obj): Answer {
    if (this.state !== 'Paused') return bad('Cannot create snapshot: the microVM is not paused.');
    if (body.snapshot_type === 'Diff' && this.cfg.machine.track_dirty_pages !== true)
      return bad('Diff snapshots are not allowed on uVMs with dirty page tracking disabled.');
    for (const f of [body.snapshot_path, body.mem_file_path] as string[]) {
      if (!existsSync(dirname(this.file(f))))
        return bad(`Cannot create snapshot file ${f}: No such file or directory (os error 2)`);
    }
    const snap = {
      version: this.version,
      type: body.snapshot_type ?? 'Full',
      config: { ...this.cfg, bootSource: null },
    };
    writeFileSync(this.file(String(body.snapshot_path)), JSON.stringify(snap));
    writeFileSync(
      this.file(String(body.mem_file_path)),
      `guest memory: ${String(this.cfg.machine.mem_size_mib)} MiB\n`,
    );
    return ok;
  }

  private snapshotLoad(body: Obj): Answer {
    if (this.used)
      return bad('Loading a microVM snapshot not allowed after configuring boot-specific resources.');
    const fail = (msg: string) => {
      this.dead = true;
      return bad(`Load snapshot error: ${msg}`);
    };
    if ((body.mem_backend === undefined) === (body.mem_file_path === undefined))
      return bad('Exactly one of mem_backend and mem_file_path must be given.');
    const mem = String((body.mem_backend as Obj | undefined)?.backend_path ?? body.mem_file_path);
    if (!existsSync(this.file(mem)))
      return fail(`Cannot open the memory file ${mem}: No such file or directory (os error 2)`);
    let snap: { version: string; config: VmConfig };
    try {
      snap = JSON.parse(readFileSync(this.file(String(body.snapshot_path)), 'utf8'));
    } catch (e) {
      return fail(
        `Cannot read the snapshot state file ${String(body.snapshot_path)}: ${(e as Error).message}`,
      );
    }
    const minor = (v: string) => v.split('.').slice(0, 2).join('.');
    if (minor(snap.version) !== minor(this.version))
      return fail(`Snapshot version ${snap.version} is not supported by Firecracker ${this.version}.`);
    const config = snap.config;
    for (const o of (body.network_overrides as Obj[] | undefined) ?? []) {
      const iface = config.ifaces.find((n) => n.iface_id === o.iface_id);
      if (!iface)
        return fail(`Invalid network override: no interface ${String(o.iface_id)} in the snapshot.`);
      iface.host_dev_name = o.host_dev_name;
    }
    for (const d of config.drives) {
      if (typeof d.path_on_host === 'string' && !existsSync(this.file(d.path_on_host)))
        return fail(`Unable to open the block device backing file ${d.path_on_host}.`);
    }
    if (config.vsock) {
      const p = this.file(String(config.vsock.uds_path));
      if (existsSync(p)) return fail('Cannot restore the vsock device: its Unix socket path already exists.');
      this.events.vsock(p);
    }
    this.cfg = {
      ...config,
      machine: { ...config.machine, track_dirty_pages: body.track_dirty_pages === true },
    };
    this.used = true;
    this.state = body.resume_vm === true ? 'Running' : 'Paused';
    this.events.action('SnapshotLoaded');
    return ok;
  }
}
