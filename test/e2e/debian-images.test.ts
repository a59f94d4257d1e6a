import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Image, ImportEvent, Vm } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { pushDebianImage, startRegistry, type LocalRegistry } from '../helpers/oci.ts';
import { until } from '../helpers/vm.ts';

const run = promisify(execFile);

// The OCI test images built from Debian packages (images/recipes/oci-*.sh) run as plain VMs: the
// guest agent as PID 1 starts nginx and PostgreSQL (glibc, their own users, logs on stdout/stderr).
let p: Platform;
let reg: LocalRegistry;
const refs = { web: '', postgres: '' };

beforeAll(async () => {
  reg = await startRegistry();
  refs.web = await pushDebianImage(reg.host, 'web');
  refs.postgres = await pushDebianImage(reg.host, 'postgres');
  p = await startPlatform({ manager: { importAllow: ['127.0.0.0/8'] } });
}, 600_000);

afterAll(async () => {
  await p?.dispose();
  await reg?.dispose();
});

async function importRef(ref: string): Promise<Image> {
  const t0 = Date.now();
  // Streamed: the answer starts at once, so a slow import (minutes on a busy machine) never meets
  // the HTTP client's headers timeout.
  const res = await p.client.raw('importImage', { body: { ref, stream: true } as never });
  const lines = (await res.text()).split('\n').filter(Boolean);
  const done = JSON.parse(lines.at(-1)!) as ImportEvent;
  expect(done.type, lines.slice(-3).join('\n')).toBe('done');
  const image = (done as Extract<ImportEvent, { type: 'done' }>).image;
  console.log(`OCI import of ${ref}: ${Date.now() - t0} ms, ext4 ${image.sizeBytes} bytes`);
  return image;
}

async function boot(name: string, image: Image, extra: Record<string, unknown>): Promise<Vm> {
  const created = await p.client.call('createVm', { body: { name, image: image.id, ...extra } });
  return p.client.call('waitVm', { params: { id: created.id }, query: { state: 'running', timeout: 300 } });
}

describe('Debian-built OCI test images as VMs', () => {
  it('web: nginx serves its page to the host and logs each request on stdout', async () => {
    const image = await importRef(refs.web);
    expect(image.meta).toMatchObject({
      oci: { cmd: ['nginx', '-g', 'daemon off;'], exposedPorts: ['80/tcp'] },
    });
    const t0 = Date.now();
    const vm = await boot('deb-web', image, { memoryMib: 128 });
    let page = '';
    await until(
      'nginx answers on port 80',
      async () => {
        page = await fetch(`http://${vm.ip}/`).then(
          (r) => (r.ok ? r.text() : ''),
          () => '',
        );
        return page !== '';
      },
      300_000,
    );
    console.log(`web: create → serving ${Date.now() - t0} ms`);
    expect(page).toBe('hearth web ok\n');
    // access.log is /dev/stdout: the request reaches the VM's console like any app output.
    await until('the access log line on the console', async () =>
      (await p.client.call('vmLogs', { params: { id: vm.id } })).includes('"GET / HTTP/1.1" 200'),
    );
    const client = await p.client.call('execVm', {
      params: { id: vm.id },
      body: { command: ['pg_isready', '--version'] },
    });
    expect(client.stdout).toContain('PostgreSQL) 15');
    await p.client.call('deleteVm', { params: { id: vm.id } });
  }, 600_000);

  it('postgres: initdb with POSTGRES_PASSWORD, a query through exec and one from the host', async () => {
    const image = await importRef(refs.postgres);
    const t0 = Date.now();
    const vm = await boot('deb-pg', image, {
      memoryMib: 256,
      env: { POSTGRES_PASSWORD: 'pg-test-pw', POSTGRES_DB: 'app' },
    });
    await until(
      'pg_isready',
      async () =>
        (
          await p.client.call('execVm', {
            params: { id: vm.id },
            body: { command: ['pg_isready', '-q', '-h', '127.0.0.1'] },
          })
        ).exitCode === 0,
      300_000,
    );
    console.log(`postgres: create → accepting connections ${Date.now() - t0} ms`);
    const q = await p.client.call('execVm', {
      params: { id: vm.id },
      body: {
        command: [
          'psql',
          '-h',
          '127.0.0.1',
          '-U',
          'postgres',
          '-d',
          'app',
          '-tAc',
          'select 40 + 2, current_user',
        ],
        env: { PGPASSWORD: 'pg-test-pw' },
      },
    });
    expect(q.exitCode, q.stderr).toBe(0);
    expect(q.stdout.trim()).toBe('42|postgres');
    // The server runs as postgres, not root (setpriv, no setuid helper).
    const who = await p.client.call('execVm', {
      params: { id: vm.id },
      body: {
        command:
          'd=/var/lib/postgresql/data/pgdata; stat -c %U "$d" "/proc/$(head -n 1 "$d/postmaster.pid")"',
      },
    });
    expect(who.stdout.trim().split('\n')).toEqual(['postgres', 'postgres']);
    // From the host over the network: password auth, the wrong password refused.
    const host = await run('psql', ['-h', vm.ip!, '-U', 'postgres', '-d', 'app', '-tAc', 'select 7 * 6'], {
      env: { ...process.env, PGPASSWORD: 'pg-test-pw', PGCONNECT_TIMEOUT: '30' },
    });
    expect(host.stdout.trim()).toBe('42');
    const wrong = await run('psql', ['-h', vm.ip!, '-U', 'postgres', '-d', 'app', '-c', 'select 1'], {
      env: { ...process.env, PGPASSWORD: 'nope', PGCONNECT_TIMEOUT: '30' },
    }).then(
      () => '',
      (e: { stderr: string }) => e.stderr,
    );
    expect(wrong).toContain('password authentication failed');
  }, 600_000);
});
