import { randomUUID } from 'node:crypto';
import {
  FunctionConfig,
  HearthError,
  newId,
  type CreateFunctionBody,
  type DeployFunctionBody,
  type FunctionInfo,
  type FunctionRuntime,
  type FunctionVersion,
  type InvokeResult,
} from '@hearth/contract';
import type { z } from 'zod';
import type { Db } from '../../db/index.ts';
import type { FunctionRowConfig } from '../../db/schema-functions.ts';
import { buildVersion, type BuildDeps } from './build.ts';
import { FunctionPool } from './instances.ts';
import { invokeOn } from './invoke.ts';
import { FunctionStore, type FunctionRow, type VersionRow } from './store.ts';

export interface FunctionServiceDeps extends BuildDeps {
  db: Db;
  /** How often idle instances are looked for; default 1 s. */
  sweepMs?: number;
}

const configOf = (r: FunctionRowConfig): FunctionConfig => {
  const { runtime: _r, handler: _h, ...c } = r;
  return FunctionConfig.parse(c);
};

/**
 * Serverless functions: each deploy builds an immutable version (a VM with the handler loaded,
 * snapshotted); invocations run on instances restored from the live version's snapshot.
 */
export class FunctionService {
  readonly store: FunctionStore;
  private readonly pools = new Map<string, FunctionPool>();
  private readonly configs = new Map<string, FunctionConfig>();
  private readonly tasks = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: FunctionServiceDeps) {
    this.store = new FunctionStore(deps.db);
  }

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.deps.sweepMs ?? 1000);
    this.timer.unref();
  }

  async dispose(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.tasks]);
    for (const p of this.pools.values()) p.dispose();
    this.pools.clear();
  }

  async create(body: z.output<typeof CreateFunctionBody>, project: string, actor: string) {
    const { name, project: _p, runtime, handler, files, ...config } = body;
    if (await this.store.get(project, name)) {
      throw new HearthError(
        'FUNCTION_NAME_TAKEN',
        `Creating function "${name}" failed: the project has one of that name.`,
        { fields: { name: ['already taken'] } },
      );
    }
    const row = await this.store.insert({
      id: newId('fn'),
      name,
      project,
      config: { ...config, runtime, handler },
    });
    const building = await this.startVersion(row, { runtime, handler, files, config }, actor);
    return this.info(row.id, building);
  }

  async deploy(name: string, project: string, body: z.output<typeof DeployFunctionBody>, actor: string) {
    const row = await this.require(name, project);
    const { runtime, handler, files, ...partial } = body;
    const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
    const config = FunctionConfig.parse({ ...configOf(row.config), ...defined });
    const building = await this.startVersion(row, { runtime, handler, files, config }, actor);
    return this.info(row.id, building);
  }

  /**
   * Records the next version as building and builds it in the background: a boot under emulation
   * on a busy host outlasts any HTTP client's patience; callers long-poll the version.
   */
  private async startVersion(
    row: FunctionRow,
    v: { runtime: FunctionRuntime; handler: string; files: Record<string, string>; config: FunctionConfig },
    actor: string,
  ): Promise<number> {
    const version = await this.store.newVersion(row.id, v);
    const task = this.buildInBackground(row, version.version, v, actor).finally(() =>
      this.tasks.delete(task),
    );
    this.tasks.add(task);
    return version.version;
  }

  private async buildInBackground(
    row: FunctionRow,
    version: number,
    v: { runtime: FunctionRuntime; handler: string; files: Record<string, string>; config: FunctionConfig },
    actor: string,
  ): Promise<void> {
    const t0 = Date.now();
    let snap: string;
    try {
      snap = await buildVersion(
        this.deps,
        { fnId: row.id, name: row.name, project: row.project, version, ...v },
        actor,
      );
    } catch (e) {
      const detail = (e as HearthError).detail as { error?: { stack?: string[] } } | undefined;
      const stack = detail?.error?.stack?.join('\n');
      this.deps.log.info({ fn: row.name, version, err: (e as Error).message }, 'function version failed');
      await this.store.finishVersion(row.id, version, {
        state: 'failed',
        error: stack ? `${(e as Error).message}\n${stack}` : (e as Error).message,
        build_ms: Date.now() - t0,
      });
      return;
    }
    await this.store.finishVersion(row.id, version, {
      state: 'ready',
      snapshot_id: snap,
      build_ms: Date.now() - t0,
    });
    // The function's settings are the newest ready version's; `live` follows it.
    await this.store.setConfig(row.id, { ...v.config, runtime: v.runtime, handler: v.handler });
    this.configs.set(row.id, v.config);
    await this.store.setAlias(row.id, 'live', version);
    this.pools.get(row.id)?.sweep(version);
  }

  /** One version; while it builds, waits up to `waitS` for it to be ready or failed. */
  async version(name: string, project: string, n: number, waitS: number): Promise<FunctionVersion> {
    const row = await this.require(name, project);
    const deadline = Date.now() + waitS * 1000;
    for (;;) {
      const v = await this.store.version(row.id, n);
      if (!v) {
        throw new HearthError('FUNCTION_VERSION_NOT_FOUND', `Function "${name}" has no version ${n}.`);
      }
      if (v.state !== 'building' || Date.now() >= deadline) return versionOf(v);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** The source a version was built from (its runtime, handler and files). */
  async code(name: string, project: string, n: number) {
    const row = await this.require(name, project);
    const v = await this.store.version(row.id, n);
    if (!v) throw new HearthError('FUNCTION_VERSION_NOT_FOUND', `Function "${name}" has no version ${n}.`);
    return { runtime: v.runtime as FunctionRuntime, handler: v.handler, files: v.files };
  }

  async list(project: string) {
    const rows = await this.store.list(project);
    return { items: await Promise.all(rows.map((r) => this.info(r.id))), nextCursor: null };
  }

  async get(name: string, project: string): Promise<FunctionInfo> {
    return this.info((await this.require(name, project)).id);
  }

  async delete(name: string, project: string): Promise<FunctionInfo> {
    const row = await this.require(name, project);
    const out = await this.info(row.id);
    this.pools.get(row.id)?.dispose();
    this.pools.delete(row.id);
    for (const v of await this.store.versions(row.id)) {
      if (v.snapshot_id) {
        await this.deps.snapshots.delete(v.snapshot_id, project).catch((e: Error) => {
          this.deps.log.warn({ err: e, snapshot: v.snapshot_id }, 'removing a function snapshot failed');
        });
      }
    }
    await this.store.delete(row.id);
    return out;
  }

  async versions(name: string, project: string): Promise<{ items: FunctionVersion[] }> {
    const row = await this.require(name, project);
    return { items: (await this.store.versions(row.id)).map(versionOf) };
  }

  async rollback(name: string, project: string, body: { version: number; alias: string }) {
    const row = await this.require(name, project);
    const v = await this.store.version(row.id, body.version);
    if (!v || v.state !== 'ready') {
      throw new HearthError(
        'FUNCTION_VERSION_NOT_FOUND',
        `Rolling back function "${name}" failed: it has no ready version ${body.version}.`,
        { detail: { state: v?.state ?? null } },
      );
    }
    await this.store.setAlias(row.id, body.alias, v.version);
    if (body.alias === 'live') this.pools.get(row.id)?.sweep(v.version);
    return this.info(row.id);
  }

  /** Runs the handler of the alias's (default `live`) or the given version on an instance. */
  async invoke(
    name: string,
    project: string,
    event: unknown,
    q: { alias?: string | undefined; version?: number | undefined },
  ): Promise<InvokeResult> {
    const row = await this.require(name, project);
    const aliases = await this.store.aliases(row.id);
    const n = q.version ?? aliases[q.alias ?? 'live'];
    const v = n === undefined ? null : await this.store.version(row.id, n);
    if (!v || v.state !== 'ready' || !v.snapshot_id) {
      throw new HearthError(
        'FUNCTION_NOT_READY',
        `Invoking function "${name}" failed: ${q.version ? `version ${q.version}` : `alias ${q.alias ?? 'live'}`} has no ready version.`,
      );
    }
    this.configs.set(row.id, configOf(row.config));
    const requestId = randomUUID();
    const out = await invokeOn(this.deps, this.pool(row), row, v, requestId, event);
    await this.store.addLog({
      function_id: row.id,
      request_id: requestId,
      version: v.version,
      status: out.status,
      duration_ms: Math.round(out.durationMs),
      cold: out.cold,
      logs: out.logs,
    });
    return out;
  }

  async logs(name: string, project: string, q: { limit: number; requestId?: string | undefined }) {
    const row = await this.require(name, project);
    const rows = await this.store.logs(row.id, q.limit, q.requestId);
    return {
      items: rows.map((r) => ({
        seq: r.seq,
        requestId: r.request_id,
        version: r.version,
        status: r.status,
        durationMs: r.duration_ms,
        cold: r.cold,
        logs: r.logs,
        at: new Date(r.at).toISOString(),
      })),
    };
  }

  /** The function's public flag (the HTTP trigger asks before any authentication). */
  async isPublic(name: string, project: string): Promise<boolean> {
    const row = await this.store.get(project, name);
    return row?.config.public === true;
  }

  private pool(row: FunctionRow): FunctionPool {
    let p = this.pools.get(row.id);
    if (!p) {
      p = new FunctionPool(this.deps, {
        id: row.id,
        name: row.name,
        project: row.project,
        config: () => this.configs.get(row.id) ?? configOf(row.config),
      });
      this.pools.set(row.id, p);
    }
    return p;
  }

  private async sweep(): Promise<void> {
    for (const [id, p] of this.pools) {
      const live = (await this.store.aliases(id).catch(() => ({}) as Record<string, number>)).live ?? null;
      p.sweep(live);
    }
  }

  private async require(name: string, project: string): Promise<FunctionRow> {
    const row = await this.store.get(project, name);
    if (!row) throw new HearthError('FUNCTION_NOT_FOUND', `No function "${name}" in project "${project}".`);
    return row;
  }

  private async info(id: string, building: number | null = null): Promise<FunctionInfo> {
    const row = (await this.store.byId(id))!;
    const versions = await this.store.versions(id);
    return {
      id: row.id,
      name: row.name,
      project: row.project,
      runtime: row.config.runtime as FunctionRuntime,
      handler: row.config.handler,
      config: configOf(row.config),
      aliases: await this.store.aliases(id),
      versions: versions.length,
      building,
      instances: this.pools.get(id)?.instances.filter((i) => i.state === 'ready').length ?? 0,
      createdAt: new Date(row.created_at).toISOString(),
      updatedAt: new Date(row.updated_at).toISOString(),
    };
  }
}

function versionOf(v: VersionRow): FunctionVersion {
  return {
    version: v.version,
    state: v.state,
    runtime: v.runtime as FunctionRuntime,
    handler: v.handler,
    snapshot: v.snapshot_id,
    error: v.error,
    buildMs: v.build_ms,
    createdAt: new Date(v.created_at).toISOString(),
  };
}
