import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Sandbox, type FilesystemEvent } from 'e2b';
import { Sandbox as Sandbox250 } from 'e2b-2-50';
import type { AuditRecord } from '@hearth/contract';
import { late } from '../helpers/late.ts';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { until } from '../helpers/vm.ts';

// The e2b SDK (2.51.0 and 2.50.0, pinned) against Hearth: WebSocket traffic through getHost, the
// control plane's calls in the audit trail, and a paused sandbox resumed by a restarted manager.

const platform = late<Platform>('the platform');
const DOMAIN = 'e2b.hearth.test';

const opts = () => {
  const p = platform.get();
  return {
    apiUrl: `${p.manager.url}/e2b`,
    sandboxUrl: `${p.manager.url}/e2b`,
    apiKey: p.manager.adminToken,
    requestTimeoutMs: 300_000,
  };
};

const made: string[] = [];
async function create(extra: Record<string, unknown> = {}): Promise<Sandbox> {
  const sbx = await Sandbox.create({ ...opts(), timeoutMs: 600_000, ...extra });
  made.push(sbx.sandboxId);
  return sbx;
}

/**
 * A one-connection WebSocket server for busybox (the base image has nothing else): the
 * handshake, a text frame `hello <hostname>`, then each short text frame of the client back,
 * unmasked, as `echo:<text>`.
 */
const WS_SERVER = String.raw`#!/bin/sh
key=
while IFS= read -r line; do
  line=$(printf '%s' "$line" | tr -d '\r')
  [ -z "$line" ] && break
  case "$line" in [Ss]ec-[Ww]eb[Ss]ocket-[Kk]ey:*) key=$(echo "${'$'}{line#*:}" | tr -d ' ') ;; esac
done
acc=$(printf '%s' "${'$'}{key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11" | sha1sum | cut -c1-40 | xxd -r -p | base64)
printf 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n' "$acc"
hello="hello $(hostname)"
printf "\\201\\$(printf '%03o' ${'$'}{#hello})%s" "$hello"
while :; do
  set -- $(dd bs=1 count=2 2>/dev/null | od -An -tu1)
  [ $# -eq 2 ] || exit 0
  [ $(( $1 & 15 )) -eq 8 ] && exit 0
  len=$(( $2 & 127 ))
  set -- $(dd bs=1 count=$((4 + len)) 2>/dev/null | od -An -tu1)
  m0=$1 m1=$2 m2=$3 m3=$4
  shift 4
  i=0 out=''
  for b in "$@"; do
    case $((i % 4)) in 0) m=$m0 ;; 1) m=$m1 ;; 2) m=$m2 ;; *) m=$m3 ;; esac
    out="$out\\$(printf '%03o' $((b ^ m)))"
    i=$((i + 1))
  done
  printf "\\201\\$(printf '%03o' $((len + 5)))echo:$out"
done
`;

/** A WebSocket to the manager's port with the sandbox host name as Host, as wildcard DNS would bring it. */
function openWs(host: string, headers: Record<string, string> = {}) {
  const u = new URL(platform.get().manager.url);
  const got: string[] = [];
  const ws = new WebSocket(`ws://${u.host}/chat?x=1`, { headers: { ...headers, host } });
  ws.on('message', (m) => void got.push(m.toString()));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (q, res) => {
      reject(new Error(`HTTP ${res.statusCode}`));
      q.destroy();
    });
  });
  return { ws, got, opened };
}

beforeAll(async () => {
  platform.set(await startPlatform({ manager: { e2bDomain: DOMAIN } }));
}, 400_000);

afterAll(async () => {
  for (const id of made) await Sandbox.kill(id, opts()).catch(() => undefined);
  await platform.peek()?.dispose();
}, 120_000);

describe('the e2b SDK against Hearth: WebSockets, audit, restart', () => {
  it('carries a WebSocket through getHost(port) both ways', async () => {
    const sbx = await create({ network: { allowPublicTraffic: false } });
    await sbx.files.write('/tmp/ws.sh', WS_SERVER);
    await sbx.commands.run('nc -ll -p 9000 -e sh /tmp/ws.sh', { background: true, timeoutMs: 0 });
    const host = sbx.getHost(9000);
    const token = { 'e2b-traffic-access-token': sbx.trafficAccessToken! };
    let c = openWs(host, token);
    await until(
      'the WebSocket open',
      async () => {
        try {
          await c.opened;
          return true;
        } catch {
          c = openWs(host, token);
          return false;
        }
      },
      120_000,
    );
    await until('the greeting', () => c.got.length === 1, 60_000);
    expect(c.got[0]).toMatch(/^hello \S+$/);
    c.ws.send('ping 1');
    await until('the first echo', () => c.got.length === 2, 60_000);
    c.ws.send('ping 2');
    await until('the second echo', () => c.got.length === 3, 60_000);
    expect(c.got.slice(1)).toEqual(['echo:ping 1', 'echo:ping 2']);
    c.ws.close();
    // A private sandbox's WebSocket asks for its traffic token, as its plain requests do.
    const refused = openWs(host);
    await expect(refused.opened).rejects.toThrow(/HTTP 403/);
    // Nothing listening: E2B's 502 before any upgrade.
    const closed = openWs(sbx.getHost(9001), token);
    await expect(closed.opened).rejects.toThrow(/HTTP 502/);
    await sbx.kill();
  }, 400_000);

  it('writes the control plane’s calls to the audit trail, and resumes a sandbox paused before a manager restart', async () => {
    const p = platform.get();
    const sbx = await create({ metadata: { suite: 'e2b-ops' } });
    await sbx.files.write('/tmp/kept.txt', 'kept across the restart');
    const bg = await sbx.commands.run('sleep 900', { background: true, timeoutMs: 0 });
    await sbx.setTimeout(900_000);
    expect(await sbx.pause()).toBe(true);
    // A refused call is recorded too: a kill with a key that is none.
    expect(
      (
        await fetch(`${p.manager.url}/e2b/sandboxes/${sbx.sandboxId}`, {
          method: 'DELETE',
          headers: { 'x-api-key': 'e2b_0000' },
        })
      ).status,
    ).toBe(401);

    // The manager goes and comes back (same data directory and port); the agent stays.
    const vmId = (await p.client.call('getVm', { params: { id: `e2b-${sbx.sandboxId}` } })).id;
    await p.manager.dispose();
    await p.startManager();
    await until(
      'the host back',
      async () => (await p.client.call('listHosts', {})).items.some((h) => h.state === 'ready'),
      120_000,
    );
    expect((await Sandbox.getInfo(sbx.sandboxId, opts())).state).toBe('paused');
    // The older SDK resumes it: same VM, its file and its background process still there.
    const back = await Sandbox250.connect(sbx.sandboxId, { ...opts(), timeoutMs: 600_000 });
    expect((await back.getInfo()).state).toBe('running');
    expect((await p.client.call('getVm', { params: { id: vmId } })).state).toBe('running');
    expect(await back.files.read('/tmp/kept.txt')).toBe('kept across the restart');
    expect((await back.commands.list()).map((x) => x.pid)).toContain(bg.pid);
    expect(await Sandbox.kill(sbx.sandboxId, opts())).toBe(true);

    const mine = (r: AuditRecord) => r.target === sbx.sandboxId && r.action.startsWith('e2b');
    let trail: AuditRecord[] = [];
    await until(
      'the kill in the trail',
      async () => {
        const page = await p.client.call('listAudit', { query: { limit: 500, all: 'true' } });
        trail = page.items.filter(mine).reverse();
        return trail.some((r) => r.action === 'e2bKillSandbox' && r.outcome === 'success');
      },
      60_000,
    );
    expect(trail.map((r) => [r.action, r.outcome, r.status])).toEqual([
      ['e2bCreateSandbox', 'success', 201],
      ['e2bSetSandboxTimeout', 'success', 204],
      ['e2bPauseSandbox', 'success', 204],
      ['e2bKillSandbox', 'denied', 401],
      ['e2bConnectSandbox', 'success', 201],
      ['e2bKillSandbox', 'success', 204],
    ]);
    expect(trail[0]).toMatchObject({
      actor: { kind: 'admin' },
      method: 'POST',
      path: '/e2b/v2/sandboxes',
      project: 'default',
      requestId: expect.any(String),
    });
    expect(trail[3]!.actor.kind).toBe('anonymous');
    expect(trail[4]!.path).toBe(`/e2b/sandboxes/${sbx.sandboxId}/connect`);
    // Reads are not recorded.
    expect(trail.some((r) => r.method === 'GET')).toBe(false);
  }, 900_000);

  it('keeps file metadata (envd 0.6.2): written with the file, read back from the guest, replaced by the next upload; watchDir hears it all', async () => {
    const sbx = await create();
    expect((await Sandbox.getInfo(sbx.sandboxId, opts())).envdVersion).toBe('0.6.2');
    // watchDir, by inotify in the guest, hears what follows (recursively: meta/ is made by the write).
    const seen: FilesystemEvent[] = [];
    const watch = await sbx.files.watchDir('/root', (e) => void seen.push(e), {
      recursive: true,
      timeoutMs: 0,
    });
    // Header names are case-insensitive: envd lowercases the keys.
    const written = await sbx.files.write('/root/meta/a.txt', 'hello', {
      metadata: { author: 'ann', Purpose: 'a demo, with spaces' },
    });
    const want = { author: 'ann', purpose: 'a demo, with spaces' };
    expect(written.metadata).toEqual(want);
    // getInfo and list stat the guest's file: the attributes are on its disk.
    expect((await sbx.files.getInfo('/root/meta/a.txt')).metadata).toEqual(want);
    const listed = await sbx.files.list('/root/meta');
    expect(listed.find((e) => e.name === 'a.txt')?.metadata).toEqual(want);
    // A gzip upload now comes as application/octet-stream (envd ≥ 0.5.7), metadata in headers.
    const zipped = await sbx.files.write('/root/meta/z.txt', 'zipped body', {
      gzip: true,
      metadata: { k: 'v' },
    });
    expect(zipped.metadata).toEqual({ k: 'v' });
    expect(await sbx.files.read('/root/meta/z.txt')).toBe('zipped body');
    expect((await sbx.files.getInfo('/root/meta/z.txt')).metadata).toEqual({ k: 'v' });
    // A streamed upload goes the same way.
    const stream = new Blob(['streamed body']).stream();
    await sbx.files.write('/root/meta/s.txt', stream, { metadata: { via: 'stream' } });
    expect(await sbx.files.read('/root/meta/s.txt')).toBe('streamed body');
    expect((await sbx.files.getInfo('/root/meta/s.txt')).metadata).toEqual({ via: 'stream' });
    // The next upload replaces the set; one without metadata leaves none.
    await sbx.files.write('/root/meta/a.txt', 'again', { metadata: { author: 'bob' } });
    expect((await sbx.files.getInfo('/root/meta/a.txt')).metadata).toEqual({ author: 'bob' });
    await sbx.files.write('/root/meta/a.txt', 'plain');
    expect((await sbx.files.getInfo('/root/meta/a.txt')).metadata).toBeUndefined();
    await sbx.files.remove('/root/meta/s.txt');
    await until(
      'watch events for meta/',
      () => seen.some((e) => e.name === 'meta/s.txt' && e.type === 'remove'),
      120_000,
    );
    await watch.stop();
    const of = (name: string) => seen.filter((e) => e.name === name).map((e) => e.type);
    expect(of('meta')[0]).toBe('create');
    expect(of('meta/a.txt').slice(0, 2)).toEqual(['create', 'write']);
    expect(of('meta/s.txt').at(-1)).toBe('remove');
    expect(seen.filter((e) => e.name.includes('.hearth-'))).toEqual([]);
    // More than a file can keep is refused before anything is written.
    await expect(
      sbx.files.write('/root/meta/big.txt', 'x', { metadata: { a: 'v'.repeat(5000) } }),
    ).rejects.toThrow(/metadata/);
    expect(await sbx.files.exists('/root/meta/big.txt')).toBe(false);
    await sbx.kill();
  }, 600_000);
});
