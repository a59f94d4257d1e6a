import { z } from 'zod';

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';

/** Prefixed, time-sortable ids (`vm_01j…`): 10 chars of millisecond time, 16 of randomness. */
export function newId(
  prefix:
    | 'vm'
    | 'img'
    | 'host'
    | 'evt'
    | 'tok'
    | 'snap'
    | 'op'
    | 'vol'
    | 'tpl'
    | 'net'
    | 'usr'
    | 'prj'
    | 'ses'
    | 'aud'
    | 'pool'
    | 'ctr'
    | 'fn'
    | 'sec'
    // Webhooks, their deliveries and the events delivered.
    | 'whk'
    | 'dlv'
    | 'whe'
    | 'sched',
): string {
  let t = Date.now();
  let time = '';
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  // Web Crypto: the contract also runs in the browser (the dashboard).
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  let rand = '';
  for (const b of bytes) rand += CROCKFORD[b % 32];
  return `${prefix}_${time}${rand}`;
}

export const Name = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'must be lowercase letters, digits and dashes (DNS label)');

export const Timestamp = z.string().meta({ format: 'date-time' });

export const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().optional(),
});

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

export const IdParam = z.strictObject({ id: z.string().min(1).max(128) });

const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)?$/i;
const UNIT: Record<string, number> = { b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** Parses `10gb`, `512MiB`, `1g` (binary units) into bytes; null when malformed. */
export function parseSize(text: string): number | null {
  const m = SIZE_RE.exec(text.trim());
  if (!m) return null;
  const unit = (m[2] ?? 'b').toLowerCase()[0]!;
  return Math.round(Number(m[1]) * UNIT[unit]!);
}

const DURATION_RE = /^(\d+)(ms|s|m|h|d)$/;
const DUR: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `30m`, `2h`, `45s` into milliseconds; null when malformed. */
export function parseDuration(text: string): number | null {
  const m = DURATION_RE.exec(text.trim());
  return m ? Number(m[1]) * DUR[m[2]!]! : null;
}
