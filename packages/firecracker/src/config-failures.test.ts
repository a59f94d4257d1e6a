import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pidAlive } from '@hearth/vmm';
import { testEnv, type TestEnv } from './test-env.ts';

const CALLS = [
  'PUT /logger',
  'PUT /metrics',
  'PUT /machine-config',
  'PUT /boot-source',
  'PUT /drives/rootfs',
  'PUT /network-interfaces/eth0',
  'PUT /vsock',
  'PUT /mmds/config',
  'PUT /mmds',
  'PUT /balloon',
  'PUT /entropy',
  'PUT /actions',
];

// Each configuration call fails in turn: the user's error carries Firecracker's fault_message,
// the process is killed, and nothing after the failed call is sent.
describe('a failing configuration call', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await testEnv();
  });
  afterAll(async () => {
    await env?.dispose();
  });

  it.each(CALLS)('%s', async (call) => {
    await env.standin({ FC_CHECKER_FAIL: call });
    const name = call.replace(/\W+/g, '');
    const err = await env
      .driver()
      .launch(await env.spec(name))
      .catch((e: Error) => e);
    const [method, path] = call.split(' ');
    expect((err as Error).message).toBe(
      `Launching Firecracker failed: Firecracker rejected ${call} (400): Injected by the contract checker: ${method} ${path} failed.`,
    );
    const calls = await env.calls();
    expect(calls.at(-1)).toMatchObject({ method, path, status: 400 });
    const pid = Number(await readFile(join(env.dir, name, 'firecracker.pid'), 'utf8'));
    expect(pidAlive(pid)).toBe(false);
    expect(existsSync(join(env.dir, name, 'api.sock'))).toBe(true); // Firecracker never removes it; the next launch does
  });
});
