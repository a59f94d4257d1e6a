import { describe, expect, it } from 'vitest';
import { FileNotFoundError, type FilesystemEvent } from 'e2b';
import { until } from '../../../../../../test/helpers/vm.ts';
import { useEnvdSandbox } from './test-support/envd-sandbox.ts';

// The e2b SDK's own filesystem client against our filesystem.Filesystem (Connect JSON) and
// /files routes on a real VM.
describe('envd filesystem through the e2b SDK', () => {
  const t = useEnvdSandbox();

  it('writes, reads, stats and lists with depth; paths resolve against the user home', async () => {
    const sbx = t.sandbox();
    const info = await sbx.files.write('/tmp/fs/a/hello.txt', 'hello envd');
    expect(info).toMatchObject({ name: 'hello.txt', type: 'file', path: '/tmp/fs/a/hello.txt' });
    expect(await sbx.files.read('/tmp/fs/a/hello.txt')).toBe('hello envd');
    expect(await t.sh('cat /tmp/fs/a/hello.txt')).toBe('hello envd');

    const st = await sbx.files.getInfo('/tmp/fs/a/hello.txt');
    expect(st).toMatchObject({
      name: 'hello.txt',
      type: 'file',
      path: '/tmp/fs/a/hello.txt',
      size: 10,
      mode: 0o644,
      permissions: '-rw-r--r--',
      owner: 'root',
      group: 'root',
    });
    expect(st.modifiedTime).toBeInstanceOf(Date);
    expect(Math.abs(st.modifiedTime!.getTime() - Date.now())).toBeLessThan(24 * 3600_000);
    const dir = await sbx.files.getInfo('/tmp/fs');
    expect(dir).toMatchObject({ type: 'dir', permissions: 'drwxr-xr-x', mode: 0o755 });

    await t.sh('ln -s a/hello.txt /tmp/fs/link && mkdir -p /tmp/fs/a/b/c && touch /tmp/fs/a/b/c/deep');
    const link = await sbx.files.getInfo('/tmp/fs/link');
    expect(link.symlinkTarget).toBe('/tmp/fs/a/hello.txt');

    const one = await sbx.files.list('/tmp/fs');
    expect(one.map((e) => e.path).sort()).toEqual(['/tmp/fs/a', '/tmp/fs/link']);
    const two = await sbx.files.list('/tmp/fs', { depth: 2 });
    expect(two.map((e) => e.path).sort()).toEqual([
      '/tmp/fs/a',
      '/tmp/fs/a/b',
      '/tmp/fs/a/hello.txt',
      '/tmp/fs/link',
    ]);
    const four = await sbx.files.list('/tmp/fs', { depth: 4 });
    expect(four.find((e) => e.path === '/tmp/fs/a/b/c/deep')).toMatchObject({ type: 'file', size: 0 });

    // Relative paths and ~ are the user's home: root's by default, alice's when named.
    await sbx.files.write('rel.txt', 'in root home');
    expect(await t.sh('cat /root/rel.txt')).toBe('in root home');
    await sbx.files.write('~/mine.txt', 'in alice home', { user: 'alice' });
    expect(await t.sh('cat /home/alice/mine.txt')).toBe('in alice home');
    expect((await sbx.files.getInfo('mine.txt', { user: 'alice' })).path).toBe('/home/alice/mine.txt');
  });

  it('exists, makeDir, rename and remove answer as E2B does', async () => {
    const sbx = t.sandbox();
    expect(await sbx.files.exists('/tmp/ops')).toBe(false);
    expect(await sbx.files.makeDir('/tmp/ops/x/y')).toBe(true);
    expect(await sbx.files.makeDir('/tmp/ops/x/y')).toBe(false);
    expect(await sbx.files.exists('/tmp/ops/x/y')).toBe(true);
    expect((await sbx.files.getInfo('/tmp/ops/x/y')).type).toBe('dir');

    await sbx.files.write('/tmp/ops/f.txt', 'move me');
    const moved = await sbx.files.rename('/tmp/ops/f.txt', '/tmp/ops/new/dir/g.txt');
    expect(moved).toMatchObject({ name: 'g.txt', path: '/tmp/ops/new/dir/g.txt', type: 'file', size: 7 });
    expect(await sbx.files.exists('/tmp/ops/f.txt')).toBe(false);
    expect(await sbx.files.read('/tmp/ops/new/dir/g.txt')).toBe('move me');

    await sbx.files.remove('/tmp/ops/new');
    expect(await sbx.files.exists('/tmp/ops/new/dir/g.txt')).toBe(false);
    expect(await sbx.files.exists('/tmp/ops/new')).toBe(false);
    // Removing what is already gone is not an error (envd removes with RemoveAll).
    await sbx.files.remove('/tmp/ops/new');

    // A file where a directory is asked for is the caller's mistake.
    await expect(sbx.files.makeDir('/tmp/ops/x/y/../../ops2/../x')).resolves.toBe(false);
    await sbx.files.write('/tmp/ops/plain', 'x');
    await expect(sbx.files.makeDir('/tmp/ops/plain')).rejects.toThrow(/not a directory/);
    await expect(sbx.files.list('/tmp/ops/plain')).rejects.toThrow();
  });

  it('answers missing paths with the SDK not-found errors', async () => {
    const sbx = t.sandbox();
    await expect(sbx.files.getInfo('/nope/none')).rejects.toBeInstanceOf(FileNotFoundError);
    await expect(sbx.files.list('/nope/none')).rejects.toBeInstanceOf(FileNotFoundError);
    await expect(sbx.files.rename('/nope/a', '/tmp/b')).rejects.toBeInstanceOf(FileNotFoundError);
    await expect(sbx.files.read('/nope/none')).rejects.toBeInstanceOf(FileNotFoundError);
    await expect(sbx.files.watchDir('/nope/none', () => undefined)).rejects.toBeInstanceOf(FileNotFoundError);

    // Connect's error shape and status on the wire.
    const res = await fetch(`${t.url}/filesystem.Filesystem/Stat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'e2b-sandbox-id': t.vm.id },
      body: JSON.stringify({ path: '/nope/none' }),
    });
    expect(res.status).toBe(404);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe('not_found');
    expect(body.message).toMatch(/\/nope\/none/);
    // An unknown user is refused as envd refuses it.
    await expect(sbx.files.getInfo('/tmp', { user: 'mallory' })).rejects.toThrow(/invalid username/);
  });

  it('makeDir and rename as a user give the new directories to that user', async () => {
    const sbx = t.sandbox();
    expect(await sbx.files.makeDir('/tmp/owned/deep/er', { user: 'alice' })).toBe(true);
    for (const p of ['/tmp/owned', '/tmp/owned/deep', '/tmp/owned/deep/er']) {
      expect(await sbx.files.getInfo(p)).toMatchObject({ owner: 'alice', group: 'alice' });
    }
    expect((await t.sh('stat -c %U:%G /tmp/owned/deep/er')).trim()).toBe('alice:alice');
  });

  it('watchDir reports create, write, chmod, rename and remove events by inotify, recursively when asked', async () => {
    const sbx = t.sandbox();
    await t.sh('mkdir -p /tmp/watched/sub');
    const events: FilesystemEvent[] = [];
    const handle = await sbx.files.watchDir('/tmp/watched', (e) => void events.push(e), {
      recursive: true,
      timeoutMs: 0,
    });
    try {
      await sbx.files.write('/tmp/watched/new.txt', 'first');
      await until(
        'write event for new.txt',
        () => events.some((e) => e.name === 'new.txt' && e.type === 'write'),
        60_000,
      );
      expect(events.find((e) => e.name === 'new.txt')?.type).toBe('create');

      await t.sh('echo more >> /tmp/watched/new.txt; chmod 600 /tmp/watched/new.txt');
      await until(
        'chmod event for new.txt',
        () => events.some((e) => e.name === 'new.txt' && e.type === 'chmod'),
        60_000,
      );
      await t.sh('echo deep > /tmp/watched/sub/inner.txt');
      await until(
        'create event for sub/inner.txt',
        () => events.some((e) => e.name === 'sub/inner.txt' && e.type === 'create'),
        60_000,
      );
      await sbx.files.remove('/tmp/watched/new.txt');
      await until(
        'remove event for new.txt',
        () => events.some((e) => e.name === 'new.txt' && e.type === 'remove'),
        60_000,
      );
      // Inotify in the guest: a rename is itself (not a remove and a create), and a file that
      // lives for a moment between two looks is seen.
      await t.sh(
        'echo x > /tmp/watched/sub/a; mv /tmp/watched/sub/a /tmp/watched/sub/b; touch /tmp/watched/blink; rm /tmp/watched/blink',
      );
      await until(
        'rename of sub/a and the blink of blink',
        () =>
          events.some((e) => e.name === 'sub/a' && e.type === 'rename') &&
          events.some((e) => e.name === 'blink' && e.type === 'remove'),
        60_000,
      );
      const blink = events.filter((e) => e.name === 'blink').map((e) => e.type);
      expect([blink[0], blink.at(-1)]).toEqual(['create', 'remove']);
      expect(events.find((e) => e.name === 'sub/b')?.type).toBe('create');
      // The agent's temporary upload file never shows.
      expect(events.filter((e) => e.name.includes('.hearth-'))).toEqual([]);
    } finally {
      await handle.stop();
    }
    const seen = events.length;
    await t.sh('touch /tmp/watched/after-stop');
    // A stopped watch hears nothing more: a later event in a fresh watch proves time passed.
    const later: FilesystemEvent[] = [];
    const h2 = await sbx.files.watchDir('/tmp/watched', (e) => void later.push(e), { timeoutMs: 0 });
    await t.sh('touch /tmp/watched/probe');
    await until('an event for probe', () => later.some((e) => e.name === 'probe'), 60_000);
    await h2.stop();
    expect(events.length).toBe(seen);
    await t.sh('rm -rf /tmp/watched');
  });
  it('the unary watcher trio keeps events until they are read', async () => {
    const call = async (method: string, body: unknown) => {
      const res = await fetch(`${t.url}/filesystem.Filesystem/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'e2b-sandbox-id': t.vm.id },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    await t.sh('mkdir -p /tmp/trio');
    const created = await call('CreateWatcher', { path: '/tmp/trio' });
    expect(created.status).toBe(200);
    const watcherId = created.body.watcherId as string;
    expect(watcherId).toMatch(/\S/);
    await t.sh('echo x > /tmp/trio/f');
    const got: { name: string; type: string }[] = [];
    await until(
      'the watcher to hold the create of f',
      async () => {
        const r = await call('GetWatcherEvents', { watcherId });
        got.push(...(r.body.events as { name: string; type: string }[]));
        return got.some((e) => e.name === 'f' && e.type === 'EVENT_TYPE_CREATE');
      },
      60_000,
    );
    expect((await call('RemoveWatcher', { watcherId })).status).toBe(200);
    const gone = await call('GetWatcherEvents', { watcherId });
    expect(gone).toMatchObject({ status: 404, body: { code: 'not_found' } });
    expect((await call('CreateWatcher', { path: '/nope/none' })).body.code).toBe('not_found');
  });
});
