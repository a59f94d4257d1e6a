// ApacheBench (`ab`, from apache2-utils) as a load client: written in C, it costs the shared
// 2-core machine far less per request than Node's `fetch` (a bare fastify route answered 6,000–8,000
// requests/s to it against about 740/s to Node callers), so what it measures is the server's.
import { spawn } from 'node:child_process';
import { processCpuTicks } from './host-stats.ts';

/** Whether `ab` is installed. */
export function hasAb(): Promise<boolean> {
  return new Promise<boolean>((resolve) =>
    spawn('ab', ['-V'], { stdio: 'ignore' })
      .on('error', () => resolve(false))
      .on('exit', (code) => resolve(code === 0)),
  );
}

export interface AbRun {
  /** Requests per second, as `ab` reports them. */
  rate: number;
  /** `ab`'s own CPU per request (ms), sampled from /proc every 20 ms while it ran. */
  cpuMs: number;
}

/**
 * POSTs the JSON in `bodyFile` to `url` `n` times from `callers` at once over keep-alive
 * connections; a non-2xx answer fails the run.
 */
export async function abPost(o: {
  url: string;
  token: string;
  bodyFile: string;
  n: number;
  callers: number;
}): Promise<AbRun> {
  const child = spawn(
    'ab',
    [
      '-k',
      '-q',
      '-n',
      String(o.n),
      '-c',
      String(o.callers),
      '-p',
      o.bodyFile,
      '-T',
      'application/json',
      '-H',
      `Authorization: Bearer ${o.token}`,
      o.url,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let ticks = 0;
  const sample = setInterval(() => {
    void processCpuTicks(child.pid ?? 0).then((t) => (ticks = Math.max(ticks, t)));
  }, 20);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ab exited ${code}`))));
    });
  } finally {
    clearInterval(sample);
  }
  const refused = /Non-2xx responses:\s+(\d+)/.exec(out);
  if (refused) throw new Error(`ab: ${refused[1]} of ${o.n} requests were refused`);
  const rate = Number(/Requests per second:\s+([\d.]+)/.exec(out)?.[1]);
  if (!Number.isFinite(rate)) throw new Error(`ab printed no rate:\n${out}`);
  return { rate, cpuMs: (ticks * 10) / o.n };
}
