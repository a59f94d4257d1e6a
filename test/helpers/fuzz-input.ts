import { routes, type RouteDef } from '@hearth/contract';
import type { z } from 'zod';

/** A seeded PRNG (mulberry32): the same seed replays the same requests. */
export type Rng = () => number;
export function makeRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
export const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
export const chance = (r: Rng, p: number) => r() < p;

/**
 * Strings a hostile client sends. None names a real resource, a known runtime or a remote
 * registry, and any of them is harmless when a guest shell runs it.
 */
export const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfff',
  '\ud83d',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'runtime-__proto__',
  'runtime-constructor',
  '../../etc/passwd',
  '/../../etc/shadow',
  '%00',
  '%zz',
  '$(id)',
  '`true`',
  '; true',
  "' OR 1=1 --",
  '<script>alert(1)</script>',
  '\u202e\u0007\u001b[2J',
  '\r\nX-Injected: 1',
  '🔥'.repeat(40),
  'A'.repeat(129),
  'B'.repeat(70_000),
  '-1',
  'NaN',
  '1e309',
  'null',
  '{}',
  'true',
  '0x10',
] as const;

const DEEP = { a: { b: { c: { d: { e: [[[[[]]]]] } } } } };
/** Values of every JSON type that no field of the contract accepts as meaningful. */
export const HOSTILE_VALUES: unknown[] = [
  ...HOSTILE_STRINGS,
  -1,
  0,
  1.5,
  -0.5,
  1e308,
  -1e308,
  2 ** 53 + 2,
  4294967297,
  null,
  [],
  [null],
  ['\u0000'],
  {},
  { __proto__x: 1 },
  DEEP,
  Array.from({ length: 300 }, (_, i) => i),
];

/** Guest paths: hostile ones, plus harmless real ones (a missing file, a fuzz scratch dir, a read-only file). */
export const GUEST_PATHS = [
  ...HOSTILE_STRINGS,
  '/no/such/file',
  '/no/such/dir/',
  '/tmp/fuzz',
  '/tmp/fuzz/f',
  '/proc/version',
  '/proc/1/mem',
  `/tmp/${'d'.repeat(300)}`,
  '/tmp//x',
  '/tmp/./x',
];

/** Import references that never leave this machine: the caller's mistakes, in every spelling. */
export const IMPORT_REFS = [
  '',
  '\u0000',
  '__proto__',
  'Upper/Case',
  '../../etc/passwd',
  'http://[::1',
  'http://[::1]:99999/x',
  'ftp://127.0.0.1/rootfs.ext4',
  'file:///etc/passwd',
  'http://user:secret@127.0.0.1:1/x',
  'http://127.0.0.1:99999/x',
  'http://127.0.0.1:0/x',
  'https://',
  'localhost:99999/x:tag',
  'registry.invalid/UPPER:tag',
  'x@sha256:nothex',
  'C'.repeat(3000),
];

/** Raw (already percent-encoded) path segments for ids. */
export const HOSTILE_IDS = [
  '%00',
  'a%00b',
  '%zz',
  '%',
  '%E0%A4%A',
  '%ED%A0%80',
  '%C0%AF',
  '%FF',
  '..',
  '%2e%2e',
  '..%2F..%2Fetc%2Fpasswd',
  '__proto__',
  'toString',
  '%20',
  "'%20OR%201=1--",
  '%F0%9F%94%A5',
  '-1',
  'null',
  'vm_00000000000000000000000000',
  'x'.repeat(101),
  'x'.repeat(129),
  'x'.repeat(2000),
] as const;

/** Raw (already percent-encoded) query values. */
export const HOSTILE_QUERY_VALUES = [
  '',
  '%00',
  'a%00',
  '%zz',
  '%ED%A0%80',
  '-1',
  '0',
  '1.5',
  '1e308',
  'NaN',
  '__proto__',
  'constructor',
  '..%2F..%2Fetc',
  'A'.repeat(5000),
  '[]',
  '{}',
  'null',
  'true',
  '%2Fno%2Fsuch%2Ffile',
  '%2Ftmp%2Ffuzz',
  '%2Fproc%2Fversion',
  '%2Fproc%2F1%2Fmem',
];

/**
 * Routes whose success would boot, stop, snapshot, move or remove something, or take the host out
 * of placement (cordon, drain, declared dead, its overcommit ratios changed): never given a real id.
 */
export const NEVER_REAL_ID = new Set<string>([
  'startVm',
  'stopVm',
  'pauseVm',
  'resumeVm',
  'restartVm',
  'deleteVm',
  'restoreVm',
  'createSnapshot',
  'saveVmAsTemplate',
  'instantiateTemplate',
  'cloneSnapshot',
  'removeHost',
  'cordonHost',
  'declareHostDead',
  'drainHost',
  'patchHost',
  'migrateVm',
]);

/** The field names of an object schema (through defaults, optionals, unions and metadata). */
export function fieldsOf(schema: z.ZodType | undefined): string[] {
  if (!schema) return [];
  const s = schema as unknown as {
    shape?: Record<string, unknown>;
    options?: z.ZodType[];
    _zod?: { def?: { innerType?: z.ZodType; left?: z.ZodType; right?: z.ZodType } };
  };
  if (s.shape) return Object.keys(s.shape);
  if (s.options) return [...new Set(s.options.flatMap((o) => fieldsOf(o)))];
  const d = s._zod?.def;
  if (d?.innerType) return fieldsOf(d.innerType);
  if (d?.left && d.right) return [...new Set([...fieldsOf(d.left), ...fieldsOf(d.right)])];
  return [];
}

export interface FuzzRequest {
  routeId: string;
  method: string;
  /** Path and query, percent-encoded as sent. */
  url: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** Send over a raw socket, byte for byte (no client normalisation of `..` or escapes). */
  raw: boolean;
}

function hostileFor(r: Rng, field: string): unknown {
  if (field === 'ref') return pick(r, IMPORT_REFS);
  if (['path', 'from', 'to', 'cwd'].includes(field)) return pick(r, GUEST_PATHS);
  return pick(r, HOSTILE_VALUES);
}

function jsonBody(r: Rng, routeId: string, route: RouteDef): { body: string; type?: string } {
  const v = r();
  const fields = fieldsOf(route.body);
  if (v < 0.5 && fields.length) {
    const o: Record<string, unknown> = {};
    for (const f of fields) if (chance(r, 0.4)) o[f] = hostileFor(r, f);
    // A create that passed validation must not boot a VM: the fuzz makes records, not VMs.
    if (routeId === 'createVm' && !('start' in o)) o.start = false;
    return { body: JSON.stringify(o) };
  }
  if (v < 0.6) {
    const extra = pick(r, ['"__proto__":{"admin":true}', '"constructor":{"prototype":{}}', '"zz":1']);
    return { body: `{${routeId === 'createVm' ? '"start":false,' : ''}${extra}}` };
  }
  if (v < 0.85) {
    const whole = [
      'null',
      '[]',
      '"text"',
      '1',
      'true',
      '{',
      '{"a":',
      '[[[[[[[[[[',
      '['.repeat(20_000) + ']'.repeat(20_000),
      '{"a":"\\ud800"}',
      '{"a":"\\u0000"}',
      '\u0000',
      '',
      JSON.stringify({ junk: 'x'.repeat(1_100_000) }),
    ];
    return { body: pick(r, whole) };
  }
  const types = [
    'text/plain',
    'application/xml',
    'multipart/form-data; boundary=x',
    'application/json; charset=utf-16',
    'application/x-www-form-urlencoded',
    'application/octet-stream',
    '',
  ];
  return { body: pick(r, ['a=1&b=2', '--x\r\n\r\n--x--', '{}', '\xff\xfe']), type: pick(r, types) };
}

/** One hostile request for a route of the contract's table. */
export interface FuzzTarget {
  /** The running VM the guest routes are aimed at. */
  vmId: string;
  /** Its host, for the agent routes. */
  hostId: string;
  tokens: { user: string; join: string; agent: string };
}

/** The token a route's own callers use (most of the time), so its body is read at all. */
function tokenFor(r: Rng, route: RouteDef, t: FuzzTarget): string {
  if (route.auth === 'join') return chance(r, 0.8) ? t.tokens.join : t.tokens.user;
  if (route.auth === 'agent') return chance(r, 0.8) ? t.tokens.agent : t.tokens.user;
  if (route.auth === 'user-or-agent') return chance(r, 0.5) ? t.tokens.agent : t.tokens.user;
  return chance(r, 0.95) ? t.tokens.user : t.tokens.agent;
}

export function makeRequest(r: Rng, routeId: string, t: FuzzTarget): FuzzRequest {
  const route = (routes as Record<string, RouteDef>)[routeId]!;
  const realVm = route.path.startsWith('/v1/vms/:id') && !NEVER_REAL_ID.has(routeId);
  const realHost = route.path.startsWith('/v1/hosts/:id') && !NEVER_REAL_ID.has(routeId);
  let path = route.path.replace(/:(\w+)/g, (_m, name: string) => {
    if (name === 'id' && realVm && chance(r, 0.6)) return t.vmId;
    if (name === 'id' && realHost && chance(r, 0.6)) return t.hostId;
    if (name === 'processId' && chance(r, 0.3)) return 'proc_nonexistent';
    return pick(r, HOSTILE_IDS);
  });
  const q: string[] = [];
  for (const f of fieldsOf(route.query)) if (chance(r, 0.5)) q.push(`${f}=${pick(r, HOSTILE_QUERY_VALUES)}`);
  if (chance(r, 0.15)) q.push(pick(r, ['zz=1', '__proto__[x]=1', 'a=1&a=2', 'limit=1&limit=2', '%zz=1']));
  if (q.length) path += `?${q.join('&')}`;

  const headers: Record<string, string> = {};
  const auth = r();
  if (auth < 0.9) headers.authorization = `Bearer ${tokenFor(r, route, t)}`;
  else if (auth < 0.95) headers.authorization = pick(r, ['Bearer nope', 'Basic YTpi', 'Bearer ', 'bearer x']);
  let body: string | Buffer | undefined;
  if (route.raw?.consumes) {
    headers['content-type'] = pick(r, [...route.raw.consumes, 'application/json', 'text/plain']);
    body = pick(r, [
      Buffer.alloc(0),
      Buffer.from([0, 1, 2, 255]),
      Buffer.alloc(70_000, 7),
      Buffer.from('{}'),
    ]);
  } else if (route.body || chance(r, 0.1)) {
    const b = jsonBody(r, routeId, route);
    body = b.body;
    if (b.type !== '') headers['content-type'] = b.type ?? 'application/json';
  }
  if (chance(r, 0.05)) headers['x-junk'] = pick(r, ['\u00ff\u00fe', 'a'.repeat(9000), '%00']);
  // The client libraries normalise `..` and escapes; some requests go out byte for byte instead.
  // (fetch also refuses a GET with a body, which a hostile client may well send.)
  const raw =
    chance(r, 0.1) ||
    path.length > 8000 ||
    /\.\.|%2e/i.test(path) ||
    (route.method === 'GET' && body !== undefined);
  return { routeId, method: route.method, url: path, headers, body, raw };
}
