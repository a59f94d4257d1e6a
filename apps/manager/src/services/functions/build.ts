import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { HearthError, type FunctionConfig, type FunctionRuntime } from '@hearth/contract';
import type { Logger } from 'pino';
import type { Sealer } from '../../crypto/sealed.ts';
import type { Stores } from '../../store/index.ts';
import { openSecrets } from '../open-secrets.ts';
import type { AgentClient } from '../agent-client.ts';
import type { SnapshotService } from '../snapshot-service.ts';
import type { VmService } from '../vms/vm-service.ts';
import { installDependencies, packFolder, type NpmOptions } from './code.ts';
import {
  guestExec,
  SHIM_DIR,
  SHIM_PORT,
  TASK_DIR,
  shimClient,
  uploadFolder,
  writeGuestFile,
  type Guest,
} from './guest.ts';
import type { ShimClient } from './shim-client.ts';

/** What a function runtime boots from and how its shim runs. */
const RUNTIME: Record<FunctionRuntime, { image: string; bin: string; shim: string }> = {
  node22: { image: 'runtime-node22', bin: 'node', shim: 'node.mjs' },
  'python3.13': { image: 'runtime-python3.13', bin: 'python3.13', shim: 'python.py' },
  ruby3: { image: 'runtime-ruby', bin: 'ruby', shim: 'ruby.rb' },
};

/** The label that marks a function's VMs (builds and instances) with the function's id. */
export const FUNCTION_LABEL = 'hearth.function';

const shimSource = (file: string) => readFile(new URL(`./shims/${file}`, import.meta.url), 'utf8');

export interface BuildDeps {
  stores: Stores;
  /** Opens the project secrets a function's secretEnv names. */
  sealer: Sealer;
  agents: AgentClient;
  vms: VmService;
  snapshots: SnapshotService;
  log: Logger;
  /** Where node22 dependencies come from. */
  npm?: NpmOptions;
}

export interface BuildInput {
  fnId: string;
  name: string;
  project: string;
  version: number;
  runtime: FunctionRuntime;
  handler: string;
  /** The code, staged on the manager's disk (stageCode). */
  dir: string;
  config: FunctionConfig;
}

/** How long a VM boot (emulated, on a busy machine) may take before a build gives up. */
const BOOT_S = 900;

/** Waits until `fn` stops throwing, up to `ms`; the last failure is thrown. */
export async function retrying<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** The running VM's host and id, once it is running (a boot or a restore). */
export async function runningGuest(deps: BuildDeps, vmId: string, project: string): Promise<Guest> {
  await deps.vms.wait(vmId, project, 'running', BOOT_S);
  const row = await deps.stores.vms.getUnscoped(vmId);
  if (!row?.host_id) throw new HearthError('FUNCTION_INSTANCE_FAILED', `VM ${vmId} has no host`);
  return { host: await deps.stores.hosts.require(row.host_id), vmId };
}

/**
 * The guest with its host as recorded now, updated in place (an instance's other users, such as
 * the out-of-memory probe, see it too): an agent that restarted may listen on another address.
 */
async function currentGuest(deps: BuildDeps, g: Guest): Promise<Guest> {
  const row = await deps.stores.vms.getUnscoped(g.vmId);
  if (row?.host_id) g.host = await deps.stores.hosts.require(row.host_id);
  return g;
}

/**
 * Waits until the shim in the guest answers a ping, and answers the client that reached it (its
 * stream stays open for the invocations). The ping goes alone, first: it tells whether the shim
 * multiplexes (ShimClient).
 */
export async function shimReady(deps: BuildDeps, g: Guest, ms: number): Promise<ShimClient> {
  const shim = shimClient(deps.agents, g, () => currentGuest(deps, g));
  try {
    await retrying(ms, () => shim.call({ op: 'ping' }, 10_000));
    return shim;
  } catch (e) {
    shim.close();
    throw e;
  }
}

/**
 * Builds one version: a VM of the runtime boots, gets the shim and the code, loads the handler
 * once to report a syntax error or missing export (the runtime's own message), then serves with
 * the handler loaded and is snapshotted. The build VM is removed either way; instances are
 * restored from the snapshot. Answers the snapshot's id.
 */
export async function buildVersion(deps: BuildDeps, b: BuildInput, actor: string): Promise<string> {
  const rt = RUNTIME[b.runtime];
  const log = deps.log.child({ fn: b.name, version: b.version });
  // Secrets are opened for each build (a rotated secret reaches the next version) and live only
  // in the handler's environment, never in the function's records.
  const env = {
    ...b.config.env,
    ...(await openSecrets(deps.stores, deps.sealer, b.project, b.config.secretEnv, `Building "${b.name}"`)),
  };
  const npm = await installDependencies(b.runtime, b.dir, deps.npm);
  if (npm) log.info({ npm }, 'function dependencies installed');
  const vm = await deps.vms.create(
    {
      name: `fn-${b.name.slice(0, 40)}-v${b.version}-${randomBytes(3).toString('hex')}`,
      project: b.project,
      image: rt.image,
      vcpus: b.config.vcpus,
      memoryMib: b.config.memoryMib,
      labels: { [FUNCTION_LABEL]: b.fnId },
      start: true,
    },
    b.project,
    actor,
  );
  try {
    const g = await runningGuest(deps, vm.id, b.project);
    await retrying(120_000, () => guestExec(deps.agents, g, ['true']));
    const shimPath = `${SHIM_DIR}/${rt.shim}`;
    await writeGuestFile(deps.agents, g, shimPath, await shimSource(rt.shim));
    await uploadFolder(deps.agents, g, TASK_DIR, packFolder(b.dir));
    const argv = (mode: string) => [rt.bin, shimPath, mode, TASK_DIR, b.handler, String(SHIM_PORT)];
    const check = await guestExec(deps.agents, g, argv('check'), { env, timeoutMs: 120_000 });
    if (check.exitCode !== 0) throw deployFailed(b, check.stdout, check.stderr);
    // Detached (its own session) so it outlives the exec; the snapshot captures it loaded.
    const serve = await guestExec(
      deps.agents,
      g,
      [
        'sh',
        '-c',
        'cd "$1" && shift && setsid "$@" </dev/null >>/var/log/hearth-fn.log 2>&1 &',
        'sh',
        TASK_DIR,
        ...argv('serve'),
      ],
      { env },
    );
    if (serve.exitCode !== 0) throw new Error(`starting the shim failed: ${serve.stderr}`);
    (await shimReady(deps, g, 300_000)).close();
    const row = await deps.stores.vms.getUnscoped(vm.id);
    const snap = await deps.snapshots.take(
      row!,
      `fn-${b.name.slice(0, 40)}-v${b.version}-${randomBytes(3).toString('hex')}`,
      actor,
    );
    log.info({ snapshot: snap.id }, 'function version built');
    return snap.id;
  } finally {
    await deps.vms
      .delete(vm.id, b.project, actor)
      .catch((e: Error) => log.warn({ err: e }, 'removing build VM'));
  }
}

/** The load failure as the runtime reported it (the shim prints it as JSON), for the caller. */
function deployFailed(b: BuildInput, stdout: string, stderr: string): HearthError {
  type LoadError = { type: string; message: string; stack: string[] };
  let error: LoadError | null;
  try {
    const last = stdout.trim().split('\n').pop() ?? '';
    error = (JSON.parse(last) as { error?: LoadError }).error ?? null;
  } catch {
    error = null;
  }
  const message = error ? `${error.type}: ${error.message}` : (stderr || stdout).trim().slice(-2000);
  return new HearthError(
    'FUNCTION_DEPLOY_FAILED',
    `Deploying function "${b.name}" failed: loading ${b.handler} raised ${message}`,
    { detail: { error, stderr: stderr.slice(-4000) } },
  );
}
