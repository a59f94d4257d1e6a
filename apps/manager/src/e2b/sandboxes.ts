import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { CreateVmBody, HearthError, type Vm } from '@hearth/contract';
import type { Sealer } from '../crypto/sealed.ts';
import type { Stores } from '../store/index.ts';
import type { SnapshotService } from '../services/snapshot-service.ts';
import type { VmService } from '../services/vms/vm-service.ts';
import { vmFromRow } from '../store/mappers.ts';
import { E2bError, notFound } from './errors.ts';
import { dropSnapshot, PAUSED_KEEP_MS, pauseToDisk, resumeFromDisk, SandboxLocks } from './pause.ts';
import type { SandboxRow, SandboxStore } from './store.ts';
import type { E2bCaller } from './auth.ts';

/**
 * The envd version reported, which decides what the SDK asks for: ≥ 0.4.0 so commands run as the
 * image's user (no Unix user `user` demanded), ≥ 0.5.2 for CloseStdin, ≥ 0.5.7 so streamed and
 * gzip uploads come as application/octet-stream (which /files takes too), ≥ 0.6.2 for file
 * metadata (X-Metadata-* headers, EntryInfo.metadata); < 0.6.3, so watchDir is never asked for
 * `includeEntry`, which is not served.
 */
export const ENVD_VERSION = '0.6.2';
/** E2B's default and longest sandbox lifetimes (seconds). */
const DEFAULT_TIMEOUT_S = 15;
const MAX_TIMEOUT_S = 24 * 3600;

export interface NewSandbox {
  templateID?: string;
  timeout?: number;
  autoPause?: boolean;
  metadata?: Record<string, string>;
  envVars?: Record<string, string>;
  allow_internet_access?: boolean;
  secure?: boolean;
  network?: { allowPublicTraffic?: boolean };
}

export interface SandboxDeps {
  stores: Stores;
  vms: VmService;
  snapshots: SnapshotService;
  store: SandboxStore;
  sealer: Sealer;
  log: Logger;
  /** Memory of a sandbox's VM when its template does not say (MiB). */
  memoryMib?: number;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** E2B-like sandbox ids: 20 lowercase letters and digits (they appear in host names). */
const newSandboxId = () => Array.from({ length: 20 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
const hash = (s: string) => createHash('sha256').update(s).digest();

function timeoutS(v: unknown, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new E2bError(400, 'timeout must be a whole number of seconds');
  }
  return Math.min(v, MAX_TIMEOUT_S);
}

function stringMap(v: unknown, what: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw new E2bError(400, `${what} must be an object of strings`);
  }
  return v as Record<string, string>;
}

/** A sandbox and its VM, in the API's terms. */
export interface Found {
  row: SandboxRow;
  vm: Vm;
}

/**
 * Paused: to disk (its snapshot recorded, the VM stopped), or a VM paused in memory (through
 * Hearth's own API, or by a manager before pause-to-disk).
 */
export const stateOf = (f: Found): 'running' | 'paused' =>
  f.row.paused_snapshot || f.vm.state === 'paused' ? 'paused' : 'running';

/**
 * E2B sandboxes on Hearth VMs: create (from a warm pool, a template, a runtime or an image named
 * by the template id), connect (resumes a paused one), list, kill, timeouts (an absolute end,
 * then kill or pause) and the envd access token that every envd call carries.
 */
export class Sandboxes {
  private readonly locks = new SandboxLocks();

  constructor(private readonly d: SandboxDeps) {}

  /** What the template id becomes in a Hearth create: a pool of that name, a template, or an image. */
  private async source(templateId: string, project: string): Promise<Record<string, unknown>> {
    const pool = await this.d.stores.pools.require(templateId, project).catch(() => null);
    if (pool) return { pool: pool.name };
    const tpl = await this.d.stores.templates.require(templateId, project).catch(() => null);
    if (tpl) {
      const { network, networks, volumes: _v, labels: _l, ...fields } = tpl.spec;
      return { ...fields, ...(networks?.length ? { networks } : network ? { network } : {}) };
    }
    return templateId === 'base' ? {} : { image: templateId };
  }

  async create(caller: E2bCaller, body: NewSandbox): Promise<Found & { token: string }> {
    const templateId = typeof body.templateID === 'string' && body.templateID ? body.templateID : 'base';
    const timeout = timeoutS(body.timeout, DEFAULT_TIMEOUT_S);
    const metadata = stringMap(body.metadata, 'metadata');
    const env = stringMap(body.envVars, 'envVars');
    const id = newSandboxId();
    const source = await this.source(templateId, caller.project);
    const parsed = CreateVmBody.safeParse({
      // A pool's VMs have the pool's size: a create from one asks for nothing else.
      ...(source.pool ? {} : { memoryMib: this.d.memoryMib ?? 192 }),
      ...source,
      name: `e2b-${id}`,
      project: caller.project,
      ...(Object.keys(env).length ? { env } : {}),
      labels: { 'hearth.e2b.sandbox': id, 'hearth.e2b.template': templateId.slice(0, 255) },
      ...(body.allow_internet_access === false ? { egress: { default: 'deny' } } : {}),
    });
    if (!parsed.success) {
      throw new E2bError(
        400,
        `template "${templateId}": ${parsed.error.issues.map((i) => i.message).join('; ')}`,
      );
    }
    let vm: Vm;
    try {
      vm = await this.d.vms.create(parsed.data, caller.project, caller.actor);
    } catch (e) {
      if (e instanceof HearthError && (e.code === 'IMAGE_NOT_FOUND' || e.status === 404)) {
        throw new E2bError(404, `template "${templateId}" not found: ${e.message}`);
      }
      throw e;
    }
    const token = randomBytes(24).toString('hex');
    let row: SandboxRow;
    try {
      if (vm.state !== 'running') vm = await this.d.vms.wait(vm.id, caller.project, 'running', 300);
      // The lifetime counts from when the sandbox can be used, not from the boot's start.
      row = await this.d.store.insert({
        id,
        vm_id: vm.id,
        project: caller.project,
        template_id: templateId,
        token_hash: hash(token).toString('hex'),
        token_sealed: this.d.sealer.seal(token),
        metadata,
        auto_pause: body.autoPause === true,
        public_traffic: body.network?.allowPublicTraffic !== false,
        end_at: new Date(Date.now() + timeout * 1000),
        created_by: caller.actor,
      });
    } catch (e) {
      await this.d.vms.delete(vm.id, caller.project, caller.actor).catch(() => undefined);
      throw e;
    }
    return { row, vm, token };
  }

  /** The sandbox of `project`; a missing one, or one whose VM went, is not found. */
  async get(project: string, id: string): Promise<Found> {
    const row = await this.d.store.get(id);
    if (!row || row.project !== project) throw notFound(id);
    const vm = await this.vmOf(row);
    if (!vm) throw notFound(id);
    return { row, vm };
  }

  private async vmOf(row: SandboxRow): Promise<Vm | null> {
    const vmRow = await this.d.stores.vms.get(row.vm_id, row.project);
    if (!vmRow || vmRow.state === 'deleting') {
      // The VM went by another way (deleted through Hearth's API): so does the sandbox.
      if (!vmRow) await this.forget(row);
      return null;
    }
    return vmFromRow(vmRow);
  }

  /** The sandbox's record goes, and with it the snapshot it was paused to. */
  private async forget(row: SandboxRow): Promise<void> {
    if (row.paused_snapshot) await dropSnapshot(this.d, row.project, row.paused_snapshot);
    await this.d.store.delete(row.id);
  }

  /**
   * Resumes a paused sandbox, extends its end, and hands out its access token; `resumed` says
   * whether it was paused.
   */
  async connect(
    caller: E2bCaller,
    id: string,
    timeout: unknown,
  ): Promise<Found & { token: string; resumed: boolean }> {
    const s = timeoutS(timeout, DEFAULT_TIMEOUT_S);
    return this.locks.run(id, () => this.connectNow(caller, id, s));
  }

  private async connectNow(
    caller: E2bCaller,
    id: string,
    s: number,
  ): Promise<Found & { token: string; resumed: boolean }> {
    let { row, vm } = await this.get(caller.project, id);
    const end = new Date(Date.now() + s * 1000);
    const resumed = stateOf({ row, vm }) === 'paused';
    if (row.paused_snapshot) {
      await resumeFromDisk(this.d, row, end, caller.actor);
      ({ row, vm } = await this.get(caller.project, id));
    } else if (vm.state === 'paused') {
      await this.d.vms.action(vm.id, row.project, 'resume', caller.actor);
      vm = await this.d.vms.wait(vm.id, row.project, 'running', 300);
      // A resumed sandbox lives `timeout` from now (its paused end was only a keep-until).
      await this.d.store.setEnd(row.id, end);
      row = { ...row, end_at: end };
    } else if (end > new Date(row.end_at)) {
      // Connecting never shortens a running sandbox's life.
      await this.d.store.setEnd(row.id, end);
      row = { ...row, end_at: end };
    }
    return { row, vm, token: this.d.sealer.open(row.token_sealed), resumed };
  }

  async list(
    project: string,
    f: { metadata: Record<string, string>; states: string[] | null; limit: number; after: string | null },
  ): Promise<{ items: Found[]; next: string | null }> {
    const items: Found[] = [];
    let after = f.after;
    // Rows whose VM is in another state than asked are skipped: read on until the page is full.
    for (;;) {
      const rows = await this.d.store.list({ project, metadata: f.metadata, limit: f.limit + 1, after });
      for (const row of rows) {
        after = row.id;
        const vm = await this.vmOf(row);
        if (!vm || (f.states && !f.states.includes(stateOf({ row, vm })))) continue;
        if (items.length === f.limit) return { items, next: items.at(-1)!.row.id };
        items.push({ row, vm });
      }
      if (rows.length < f.limit + 1) return { items, next: null };
    }
  }

  async kill(caller: E2bCaller, id: string): Promise<void> {
    await this.get(caller.project, id);
    await this.locks.run(id, async () => {
      // Read again: a pause that ran meanwhile may have left a snapshot to delete.
      const { row } = await this.get(caller.project, id);
      await this.remove(row, caller.actor);
    });
  }

  private async remove(row: SandboxRow, actor: string): Promise<void> {
    await this.d.vms.delete(row.vm_id, row.project, actor).catch((e: HearthError) => {
      if (e.code !== 'VM_NOT_FOUND') throw e;
    });
    await this.forget(row);
  }

  async setTimeout(caller: E2bCaller, id: string, timeout: unknown): Promise<void> {
    const { row } = await this.get(caller.project, id);
    await this.d.store.setEnd(row.id, new Date(Date.now() + timeoutS(timeout, DEFAULT_TIMEOUT_S) * 1000));
  }

  /** Pauses the sandbox to disk (pause.ts); false when it already was paused. */
  async pause(caller: E2bCaller, id: string): Promise<boolean> {
    await this.get(caller.project, id);
    return this.locks.run(id, async () => {
      const f = await this.get(caller.project, id);
      if (stateOf(f) === 'paused') return false;
      await pauseToDisk(this.d, f.row, caller.actor);
      return true;
    });
  }

  /** Kills (or pauses, with autoPause) every sandbox past its end. */
  async sweep(): Promise<void> {
    for (const row of await this.d.store.expired()) {
      const vm = await this.vmOf(row).catch(() => null);
      try {
        if (!vm) await this.forget(row);
        else if (!row.auto_pause || (vm.state === 'running' && !row.paused_snapshot)) {
          await this.locks.run(row.id, async () => {
            // A user's pause, connect or timeout change may have run meanwhile: act on the record
            // as it is now, if it is still past its end.
            const now = await this.d.store.expiredOne(row.id);
            if (!now) return;
            if (!now.auto_pause) await this.remove(now, 'e2b-timeout');
            else if (!now.paused_snapshot) await pauseToDisk(this.d, now, 'e2b-timeout');
          });
        }
        // Paused (or between states) already: kept until killed or resumed.
        else await this.d.store.setEnd(row.id, new Date(Date.now() + PAUSED_KEEP_MS));
      } catch (e) {
        this.d.log.warn(
          { sandbox: row.id, err: (e as Error).message },
          'e2b: ending an expired sandbox failed',
        );
      }
    }
  }

  /**
   * The token that a sandbox's ports ask for when it is not public: derived from its envd token
   * (so nothing more is kept), and no use for envd calls.
   */
  trafficToken(row: SandboxRow): string {
    return createHmac('sha256', this.d.sealer.open(row.token_sealed)).update('e2b-traffic').digest('hex');
  }

  /**
   * The sandbox behind a host name, with its VM, for the port proxy: any project's (the host
   * name carries no key; the traffic token guards a private one). Null: none, or no VM.
   */
  async forTraffic(id: string): Promise<Found | null> {
    const row = await this.d.store.get(id);
    const vm = row ? await this.vmOf(row) : null;
    return row && vm ? { row, vm } : null;
  }

  /** The sandbox's VM for an envd call, checked against the access token it carries. */
  async forEnvd(
    id: string,
    token: string | undefined,
  ): Promise<{ row: SandboxRow; vm: Vm } | 'unknown' | 'token'> {
    const row = await this.d.store.get(id);
    if (!row) return 'unknown';
    if (!token || !timingSafeEqual(hash(token), Buffer.from(row.token_hash, 'hex'))) return 'token';
    const vm = await this.vmOf(row);
    return vm ? { row, vm } : 'unknown';
  }
}
