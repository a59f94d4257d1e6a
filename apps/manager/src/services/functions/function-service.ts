import { openSecrets } from '../open-secrets.ts';
import {
  FunctionConfig,
  HearthError,
  newId,
  type CreateFunctionBody,
  type DeployFunctionBody,
  type FunctionInfo,
  type FunctionRuntime,
  type FunctionVersion,
  type FunctionLogsQuery,
  type InvokeResult,
  type METRICS_RANGES,
} from '@hearth/contract';
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import type { Db } from '../../db/index.ts';
import type { FunctionRowConfig } from '../../db/schema-functions.ts';
import { buildVersion, FUNCTION_LABEL, type BuildDeps } from './build.ts';
import { stageCode, type StagedCode } from './code.ts';
import { FunctionPool } from './instances.ts';
import { FunctionInvocations, type VersionChoice } from './invocations.ts';
import { FunctionObserve } from './observe.ts';
import { FunctionStore, type FunctionRow, type VersionRow } from './store.ts';

export interface FunctionServiceDeps extends BuildDeps {
  db: Db;
  /** How often idle instances are looked for; default 1 s. */
  sweepMs?: number;
}

/** A version to build: its settings and its code staged on disk. */
interface NewVersion {
  runtime: FunctionRuntime;
  handler: string;
  code: StagedCode;
  config: FunctionConfig;
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
  private readonly calls: FunctionInvocations;
  private readonly observe: FunctionObserve;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: FunctionServiceDeps) {
    this.store = new FunctionStore(deps.db);
    this.calls = new FunctionInvocations(deps, this.store, (row) => this.pool(row));
    this.observe = new FunctionObserve(this.store, (row) => this.pools.get(row.id));
  }

  /**
   * `recover`: clear what an earlier manager left (false when other replicas run: the function VMs
   * are theirs, serving calls).
   */
  start(recover = true): void {
    const recovered = (recover ? this.recover() : Promise.resolve()).catch((e: Error) =>
      this.deps.log.warn({ err: e }, 'clearing what a previous manager left of functions failed'),
    );
    this.tasks.add(recovered);
    void recovered.finally(() => this.tasks.delete(recovered));
    this.timer = setInterval(() => void this.sweep(), this.deps.sweepMs ?? 1000);
    this.timer.unref();
  }

  /**
   * Instances and builds live in this process: after a restart their VMs are orphans (removed)
   * and what was building or pending is recorded as failed.
   */
  private async recover(): Promise<void> {
    const failed = await this.store.failInterrupted('the manager restarted before it finished');
    const orphans = (await this.deps.stores.vms.all()).filter((v) => v.labels?.[FUNCTION_LABEL]);
    for (const vm of orphans) {
      await this.deps.vms.delete(vm.id, vm.project, 'function').catch((e: Error) => {
        this.deps.log.warn({ err: e, vm: vm.id }, 'removing a function VM left by a restart failed');
      });
    }
    if (failed.versions || failed.invocations || orphans.length) {
      this.deps.log.info({ ...failed, vms: orphans.length }, 'functions: cleared what a restart interrupted');
    }
  }

  async dispose(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.tasks]);
    await this.calls.dispose();
    for (const p of this.pools.values()) p.dispose();
    this.pools.clear();
  }

  async create(body: z.output<typeof CreateFunctionBody>, project: string, actor: string) {
    const { name, project: _p, runtime, handler, files, archive, ...config } = body;
    if (await this.store.get(project, name)) {
      throw new HearthError(
        'FUNCTION_NAME_TAKEN',
        `Creating function "${name}" failed: the project has one of that name.`,
        { fields: { name: ['already taken'] } },
      );
    }
    await this.secretsExist(project, config.secretEnv, `Creating function "${name}"`);
    const code = await stageCode({ files, archive });
    const row = await this.store
      .insert({ id: newId('fn'), name, project, config: { ...config, runtime, handler } })
      .catch(async (e: unknown) => {
        await code.dispose();
        throw e;
      });
    const building = await this.startVersion(row, { runtime, handler, code, config }, actor);
    return this.info(row.id, building);
  }

  async deploy(name: string, project: string, body: z.output<typeof DeployFunctionBody>, actor: string) {
    const row = await this.require(name, project);
    const { runtime, handler, files, archive, ...partial } = body;
    const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
    const config = FunctionConfig.parse({ ...configOf(row.config), ...defined });
    await this.secretsExist(project, config.secretEnv, `Deploying function "${name}"`);
    const code = await stageCode({ files, archive });
    const building = await this.startVersion(row, { runtime, handler, code, config }, actor);
    return this.info(row.id, building);
  }

  /** A secret the function names but the project lacks is refused now, not when the build runs. */
  private async secretsExist(
    project: string,
    secretEnv: Record<string, string>,
    what: string,
  ): Promise<void> {
    await openSecrets(this.deps.stores, this.deps.sealer, project, secretEnv, what);
  }

  /**
   * Records the next version as building and builds it in the background: a boot under emulation
   * on a busy host outlasts any HTTP client's patience; callers long-poll the version.
   */
  private async startVersion(row: FunctionRow, v: NewVersion, actor: string): Promise<number> {
    const { code, ...rest } = v;
    const version = await this.store.newVersion(row.id, { ...rest, files: code.files }).catch(async (e) => {
      await code.dispose();
      throw e;
    });
    const task = this.buildInBackground(row, version.version, v, actor).finally(() => {
      this.tasks.delete(task);
      return code.dispose();
    });
    this.tasks.add(task);
    return version.version;
  }

  private async buildInBackground(row: FunctionRow, version: number, v: NewVersion, actor: string) {
    const t0 = Date.now();
    const { code, ...rest } = v;
    let snap: string;
    try {
      snap = await buildVersion(
        this.deps,
        { fnId: row.id, name: row.name, project: row.project, version, ...rest, dir: code.dir },
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
  async invoke(name: string, project: string, event: unknown, q: VersionChoice): Promise<InvokeResult> {
    const row = await this.require(name, project);
    this.configs.set(row.id, configOf(row.config));
    return this.calls.invoke(row, q, event);
  }

  /** Accepts an invocation that runs in the background; its result is read by request id. */
  async invokeAsync(name: string, project: string, event: unknown, q: VersionChoice) {
    const row = await this.require(name, project);
    this.configs.set(row.id, configOf(row.config));
    return this.calls.invokeAsync(row, q, event);
  }

  async invocation(name: string, project: string, requestId: string, waitS: number) {
    return this.calls.get(await this.require(name, project), requestId, waitS);
  }

  async metrics(name: string, project: string, range: keyof typeof METRICS_RANGES) {
    return this.observe.metrics(await this.require(name, project), range);
  }

  async logs(name: string, project: string, q: FunctionLogsQuery, reply: FastifyReply) {
    return this.observe.logs(await this.require(name, project), q, reply);
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

  /** Idle instances stop; functions with minInstances get theirs restored ahead of need. */
  private async sweep(): Promise<void> {
    for (const [id, p] of this.pools) {
      const live = (await this.store.aliases(id).catch(() => ({}) as Record<string, number>)).live ?? null;
      p.sweep(live);
    }
    const rows = await this.store.all().catch(() => []);
    for (const row of rows.filter((r) => (r.config.minInstances ?? 0) > 0)) {
      const live = (await this.store.aliases(row.id)).live;
      const v = live === undefined ? null : await this.store.version(row.id, live);
      if (v?.state === 'ready' && v.snapshot_id) this.pool(row).prewarm(v.version, v.snapshot_id);
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
