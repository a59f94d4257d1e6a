import { connect } from 'node:net';
import { WebSocket } from 'ws';
import { REQUEST_LIMIT_MS, type FuzzLog } from './fuzz.ts';
import { pick, type Rng } from './fuzz-input.ts';

interface Target {
  baseUrl: string;
  token: string;
  vmId: string;
  log: FuzzLog;
}

/** Resolves with `fn`'s result, or records a hang when it takes longer than the limit. */
async function bounded(log: FuzzLog, label: string, fn: () => Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hang'>((res) => (timer = setTimeout(() => res('hang'), REQUEST_LIMIT_MS)));
  try {
    const r = await Promise.race([fn().then(() => 'done' as const), hang]);
    if (r === 'hang') log.fail('hang', label, `not finished in ${REQUEST_LIMIT_MS} ms`);
  } catch (e) {
    log.fail('transport', label, (e as Error).message);
  } finally {
    clearTimeout(timer);
  }
}

/** Frames a terminal or metrics socket must survive. */
const FRAMES: Array<[string | Buffer, boolean]> = [
  ['not json', false],
  ['{"type":"resize","cols":-5,"rows":1e9}', false],
  ['{"type":"__proto__"}', false],
  ['{"type":"resize","cols":"80"}', false],
  ['\u0000', false],
  ['[]', false],
  [Buffer.from([0xff, 0xfe, 0x00, 0x1b, 0x5b, 0x36, 0x6e]), true],
  [Buffer.alloc(4 * 1024, 0x07), true],
  ['x'.repeat(2 * 1024 * 1024), false],
];

/**
 * WebSockets (console, shell, metrics): refused upgrades, immediate disconnects, and bad frames
 * on accepted sockets. Every socket must end within the limit and every refusal be a 4xx.
 */
export async function fuzzWebSockets(t: Target, rng: Rng, rounds: number): Promise<void> {
  const ws = t.baseUrl.replace(/^http/, 'ws');
  const paths = ['console', 'shell', 'metrics/stream'];
  const auth = { authorization: `Bearer ${t.token}` };
  for (let i = 0; i < rounds; i++) {
    const channel = pick(rng, paths);
    // Mostly sockets that open (on the VM, plain query), so their frames are exercised too.
    const query = pick(rng, ['', '', '', '?cols=-1', '?rows=1e9', '?user=%00', '?interval=0', '?zz=1']);
    const id = pick(rng, [t.vmId, t.vmId, t.vmId, '%00', 'x'.repeat(129), 'ghost']);
    const url = `${ws}/v1/vms/${id}/${channel}${query}`;
    const mode = pick(rng, ['frames', 'frames', 'drop-at-once', 'drop-after-open', 'no-token']);
    await bounded(
      t.log,
      `WS ${mode} ${url.slice(ws.length)}`,
      () =>
        new Promise<void>((resolve) => {
          const sock = new WebSocket(url, { headers: mode === 'no-token' ? {} : auth });
          const label = `WS ${url.slice(ws.length)}`;
          sock.on('unexpected-response', (_req, res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => {
              t.log.judge(label, {
                status: res.statusCode ?? 0,
                body,
                retryAfter: 'retry-after' in res.headers,
                contentType: String(res.headers['content-type'] ?? ''),
              });
              resolve();
            });
          });
          sock.on('error', () => undefined);
          sock.on('close', () => resolve());
          if (mode === 'drop-at-once') {
            sock.terminate();
            t.log.count('ws-dropped');
            resolve();
            return;
          }
          sock.on('open', () => {
            t.log.judge(label, { status: 101, body: '', retryAfter: false, contentType: '' });
            if (mode === 'drop-after-open') return sock.terminate();
            for (const [data, binary] of FRAMES)
              if (sock.readyState === WebSocket.OPEN) sock.send(data, { binary });
            sock.close();
          });
        }),
    );
  }
}

/** Writes the start of a request and hangs up: a client gone mid-request or mid-answer. */
function hangUp(baseUrl: string, bytes: string, after: 'sent' | 'first-byte'): Promise<void> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve) => {
    const sock = connect({ host: hostname, port: Number(port) }, () => {
      sock.write(bytes);
      if (after === 'sent') setImmediate(() => sock.destroy());
    });
    sock.once('data', () => sock.destroy());
    sock.on('error', () => undefined);
    sock.on('close', () => resolve());
  });
}

/** Clients that disconnect mid-stream: before the answer, after its first bytes, mid-upload. */
export async function fuzzDisconnects(t: Target, rounds: number): Promise<void> {
  const h = (method: string, path: string, extra = '') =>
    `${method} ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.token}\r\n${extra}`;
  const exec = JSON.stringify({
    command: 'i=0; while [ $i -lt 40 ]; do echo $i; sleep 0.2; i=$((i+1)); done',
    stream: true,
  });
  const vm = `/v1/vms/${t.vmId}`;
  const cases: Array<[string, string, 'sent' | 'first-byte']> = [
    [
      'exec stream',
      h(
        'POST',
        `${vm}/exec`,
        `Content-Type: application/json\r\nContent-Length: ${exec.length}\r\n\r\n${exec}`,
      ),
      'first-byte',
    ],
    [
      'exec stream, gone at once',
      h(
        'POST',
        `${vm}/exec`,
        `Content-Type: application/json\r\nContent-Length: ${exec.length}\r\n\r\n${exec}`,
      ),
      'sent',
    ],
    ['event stream', h('GET', '/v1/events', '\r\n'), 'first-byte'],
    ['directory as tar', h('GET', `${vm}/files?path=%2Fetc`, '\r\n'), 'first-byte'],
    ['missing file', h('GET', `${vm}/files?path=%2Fno%2Fsuch%2Ffile`, '\r\n'), 'sent'],
    ['console log', h('GET', `${vm}/logs`, '\r\n'), 'sent'],
    ['metrics', h('GET', `${vm}/metrics`, '\r\n'), 'sent'],
    [
      'half an upload',
      h(
        'PUT',
        `${vm}/files?path=%2Ftmp%2Ffuzz-up`,
        `Content-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n${'u'.repeat(1000)}`,
      ),
      'sent',
    ],
    [
      'half a create',
      h('POST', '/v1/vms', 'Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{"name":"half'),
      'sent',
    ],
    ['half a header', `GET /v1/vms HTTP/1.1\r\nHost: x\r\nAuthor`, 'sent'],
  ];
  for (let i = 0; i < rounds; i++) {
    for (const [label, bytes, after] of cases) {
      await bounded(t.log, `disconnect: ${label}`, () => hangUp(t.baseUrl, bytes, after));
      t.log.count('disconnected');
    }
  }
}

/**
 * Twenty identical creates at once, without and with one Idempotency-Key: exactly one VM
 * each, no 5xx, and every key holder that got a 201 got the same VM.
 */
export async function concurrentCreates(t: Target, suffix: string): Promise<string[]> {
  const problems: string[] = [];
  for (const key of [null, `fuzz-key-${suffix}`]) {
    const name = key ? `fuzz-idem-${suffix}` : `fuzz-same-${suffix}`;
    const answers = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const res = await fetch(`${t.baseUrl}/v1/vms`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${t.token}`,
            'content-type': 'application/json',
            ...(key ? { 'idempotency-key': key } : {}),
          },
          body: JSON.stringify({ name, start: false }),
          signal: AbortSignal.timeout(REQUEST_LIMIT_MS),
        });
        const body = await res.text();
        t.log.judge(`POST /v1/vms ×20 ${key ? 'one key' : 'no key'}`, {
          status: res.status,
          body,
          retryAfter: res.headers.has('retry-after'),
          contentType: res.headers.get('content-type') ?? '',
        });
        return {
          status: res.status,
          body: JSON.parse(body) as { id?: string; error?: { code: string; message?: string } },
        };
      }),
    );
    const made = new Set(answers.filter((a) => a.status === 201).map((a) => a.body.id));
    if (made.size !== 1) problems.push(`${name}: ${made.size} different VMs from 201s`);
    const others = answers.filter((a) => a.status !== 201).map((a) => a.body.error?.code);
    const allowed = key ? ['IDEMPOTENCY_KEY_REUSED'] : ['VM_NAME_TAKEN'];
    const odd = answers.find((a) => a.status !== 201 && !allowed.includes(a.body.error?.code ?? ''));
    if (odd) problems.push(`${name}: refusals ${others.join(',')}; first: ${odd.body.error?.message ?? ''}`);
  }
  return problems;
}
