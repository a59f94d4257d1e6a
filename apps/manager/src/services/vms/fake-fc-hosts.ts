import type { FastifyInstance } from 'fastify';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { expect } from 'vitest';
import { buildAgentApp, Supervisor } from '@hearth/agent';
import type { AgentVmSpec } from '@hearth/contract';
import { FirecrackerDriver } from '@hearth/firecracker';
import { pidAlive } from '@hearth/vmm';
import { loadSpec, writeStandinBinary, type CallRecord } from '@hearth/firecracker/test-support';
import type { HostRow } from '../../store/mappers.ts';
import type { HostLiveness } from '../host-liveness.ts';

// The Firecracker move's test fixture: real agents (Supervisor and HTTP API) whose Firecracker is
// the contract checker's stand-in, and readers of the checker's per-process call logs.

const log = pino({ level: 'silent' });
const TOKEN = 'm'.repeat(32);
export const CHECKER_ENV = ['FC_CHECKER_LOG', 'FC_CHECKER_FAIL'];

export interface Side {
  sup: Supervisor;
  app: FastifyInstance;
  host: HostRow;
  dataDir: string;
}

/**
 * The checker's stand-in as a `firecracker` binary in `dir`, `--version` answered by a shell (the
 * spec's version, as the stand-in would): Node under tsx can outlast the probe's 10 s on a loaded
 * machine, leaving the driver without a version.
 */
export async function standinFirecracker(dir: string): Promise<string> {
  const standin = await writeStandinBinary(dir, 'firecracker-standin');
  const binary = join(dir, 'firecracker');
  await writeFile(
    binary,
    `#!/bin/sh\nif [ "$1" = "--version" ]; then printf 'Firecracker v${loadSpec().info.version}\\n\\n'; exit 0; fi\nexec '${standin}' "$@"\n`,
    { mode: 0o755 },
  );
  return binary;
}

/** A driver that never learnt its version writes snapshots no host will load: probed first. */
export async function probed(driver: FirecrackerDriver): Promise<FirecrackerDriver> {
  for (let i = 0; i < 3; i++) {
    if ((await driver.probe()).version) return driver;
  }
  throw new Error('the Firecracker stand-in never answered --version');
}

export async function makeSide(
  dir: string,
  name: string,
  binary: string,
  live: HostLiveness,
  opts: { trackDirtyPages?: boolean } = {},
): Promise<Side> {
  const dataDir = join(dir, name);
  const driver = await probed(
    new FirecrackerDriver({
      binary,
      jailer: false,
      trackDirtyPages: opts.trackDirtyPages ?? false,
      pollMs: 50,
      watchdog: { intervalMs: 0, failures: 3 },
      startTimeoutMs: 60_000,
      apiTimeoutMs: 60_000,
    }),
  );
  const sup = new Supervisor({
    dataDir,
    drivers: [driver],
    log,
    bootTimeoutMs: 120_000,
    consoleLogCap: 1 << 20,
    guestAgentPath: null,
    onUnexpectedChange: () => undefined,
  });
  await sup.init();
  const app = buildAgentApp({ supervisor: sup, callbackToken: TOKEN, log, https: null });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const host = { id: `host_${name}`, name, url, callback_token: TOKEN, tls_pins: null } as unknown as HostRow;
  live.seen(host);
  return { sup, app, host, dataDir };
}

/** Deletes every VM the sides run, stops them, and kills any Firecracker left (by pid). */
export async function closeSides(sides: (Side | undefined)[], pids: Iterable<number> = []): Promise<void> {
  const left = new Set(pids);
  for (const s of sides) {
    if (!s) continue;
    for (const id of s.sup.vmIds()) {
      const pid = s.sup.status(id).pid;
      if (pid) left.add(pid);
      await s.sup.delete(id).catch(() => undefined);
    }
    s.sup.dispose();
    await s.app.close();
  }
  for (const pid of left) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
}

export function specOf(id: string, kernel: string, rootfs: string): AgentVmSpec {
  return {
    id,
    name: id.replace(/_/g, '-'),
    vcpus: 1,
    memoryMib: 64,
    diskMib: 1,
    vmm: 'firecracker',
    kernel: { path: kernel, sha256: 'x' },
    initrd: null,
    rootfs: { path: rootfs, sha256: 'x' },
    bootMarker: 'booted',
    bootArgs: '',
    env: {},
    guest: null,
    ports: [],
    volumes: [],
    nics: [],
    egress: null,
    bandwidthMbit: null,
  } as unknown as AgentVmSpec;
}

/** The checker's knobs for the next Firecracker processes spawned (each reads them at start). */
export function checker(logFile: string, fail?: string): void {
  for (const k of CHECKER_ENV) delete process.env[k];
  process.env.FC_CHECKER_LOG = logFile;
  if (fail) process.env.FC_CHECKER_FAIL = fail;
}

export async function calls(logFile: string): Promise<CallRecord[]> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as CallRecord);
}

const line = (c: CallRecord) =>
  c.path === '/vm'
    ? `${c.method} /vm ${JSON.stringify(c.body)} ${c.status}`
    : `${c.method} ${c.path} ${c.status}`;

/** The calls after the guest was started (what the move did), GETs left out (status reads). */
export async function afterBoot(logFile: string): Promise<string[]> {
  const all = await calls(logFile);
  const start = all.findIndex(
    (c) => c.path === '/actions' && (c.body as { action_type?: string }).action_type === 'InstanceStart',
  );
  expect(start).toBeGreaterThanOrEqual(0);
  return all
    .slice(start + 1)
    .filter((c) => c.method !== 'GET')
    .map(line);
}
