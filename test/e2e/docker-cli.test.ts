import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Container } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { pushTestImage, startRegistry, type LocalRegistry } from '../helpers/oci.ts';
import { DOCKER_BIN, dockerCli, type DockerCli } from '../helpers/docker-cli.ts';
import { freePort } from '../helpers/proc.ts';

/**
 * Debian's docker client against Hearth's Docker API with a real microVM: run -d with a published
 * port, ps, logs, exec (plain and -it through a pseudo-terminal), stop, rm; and the client's
 * overhead against the same container lifecycle through the Hearth API.
 */
let p: Platform;
let reg: LocalRegistry;
let ref: string;
let docker: DockerCli;

beforeAll(async () => {
  reg = await startRegistry();
  ref = await pushTestImage(reg.host, 'hearth-test/docker', 'v1');
  p = await startPlatform({ manager: { importAllow: ['127.0.0.0/8'] } });
  docker = await dockerCli(p.manager.docker[0]!, p.manager.adminToken);
}, 180_000);

afterAll(async () => {
  await docker?.dispose();
  await p?.dispose();
  await reg?.dispose();
});

/** `docker exec -it` under a pseudo-terminal (util-linux `script`), as a user at a terminal runs it. */
function underPty(args: string[]): Promise<{ code: number; out: string }> {
  const line = [DOCKER_BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve) => {
    execFile(
      'script',
      ['-qefc', line, '/dev/null'],
      { env: { ...docker.env, TERM: 'xterm' } },
      (err, stdout, stderr) => {
        const code = err ? Number((err as { code?: unknown }).code ?? 1) : 0;
        resolve({ code, out: stdout + stderr });
      },
    );
  });
}

describe('docker client on a real microVM', () => {
  const ms: Record<string, number> = {};
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      ms[name] = Math.round(performance.now() - t0);
    }
  };

  it('runs, lists, logs, execs into, stops and removes a container', async () => {
    const port = await freePort();
    const id = (
      await timed('docker run -d (pull included)', () =>
        docker.ok('run', '-d', '--name', 'app', '-p', `${port}:8080`, '-e', 'MODE=docker', ref),
      )
    ).trim();
    expect(id).toMatch(/^ctr_/);

    console.log('docker run -d answered after', ms['docker run -d (pull included)'], 'ms');
    const ps = await docker.ok('ps', '--format', '{{.Names}}|{{.Status}}|{{.Ports}}');
    expect(ps.trim()).toMatch(new RegExp(`^app\\|Up .+\\|0\\.0\\.0\\.0:${port}->8080/tcp$`));

    const env = await docker.ok('exec', 'app', 'cat', '/srv/app.env');
    expect(env).toContain('MODE=docker');
    expect(env).toContain('GREETING=hello from the image');
    const failing = await docker.run('exec', 'app', 'sh', '-c', 'echo to-stderr >&2; exit 3');
    expect(failing.code).toBe(3);
    expect(failing.stderr).toContain('to-stderr');

    const tty = await underPty(['exec', '-it', 'app', 'sh', '-c', 'tty; echo answer=$((6*7)); exit 5']);
    expect(tty.out).toMatch(/\/dev\/pts\/\d+/);
    expect(tty.out).toContain('answer=42');
    expect(tty.code).toBe(5);

    await timed('docker stop', () => docker.ok('stop', '-t', '2', 'app'));
    const stopped = await docker.ok('ps', '-a', '--format', '{{.Names}}|{{.Status}}');
    expect(stopped.trim()).toMatch(/^app\|Exited \(\d+\) .+ ago$/);
    const logs = await docker.run('logs', 'app');
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('hello-app: GREETING=hello from the image MODE=docker');
    await timed('docker rm', () => docker.ok('rm', 'app'));
    expect((await docker.ok('ps', '-a', '-q')).trim()).toBe('');
  }, 900_000);

  it('costs little over the Hearth API for run -d and rm -f', async () => {
    const viaDocker = await timed('docker run -d + rm -f', async () => {
      await docker.ok('run', '-d', '--name', 'bench-docker', ref);
      await docker.ok('rm', '-f', 'bench-docker');
    });
    void viaDocker;
    await timed('Hearth API create + wait running + delete force + wait removed', async () => {
      const c = (await p.client.call('createContainer', {
        body: { name: 'bench-api', image: ref, pull: 'never' },
      })) as Container;
      await p.client.call('waitContainer', {
        params: { id: c.id },
        query: { condition: 'running', timeout: 600 },
      });
      await p.client.call('deleteContainer', { params: { id: c.id }, query: { force: 'true' } });
      await p.client
        .call('waitContainer', { params: { id: c.id }, query: { condition: 'removed', timeout: 600 } })
        .catch(() => undefined);
    });
    console.log('docker CLI vs Hearth API (ms):', JSON.stringify(ms));
    expect((await docker.ok('ps', '-a', '-q')).trim()).toBe('');
  }, 900_000);
});
