import type { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { z } from 'zod';
import { agentRoutes, type ExecBody, type ExecEvent, type GuestRequest } from '@hearth/contract';
import { passThrough } from '@hearth/contract/streams';
import type { Supervisor } from '../vm/index.ts';
import { GuestError } from '../guest/errors.ts';
import type { GuestStream } from '../guest/stream.ts';
import { serve } from '../http.ts';

/** What a JSON-mode exec keeps of each output stream; more is an error, not a silent cut. */
const MAX_COLLECTED = 64 * 1024 * 1024;

export function toGuestExec(body: z.output<typeof ExecBody>): GuestRequest {
  return {
    op: 'exec',
    ...(Array.isArray(body.command) ? { argv: body.command } : { command: body.command }),
    ...(body.env ? { env: body.env } : {}),
    ...(body.cwd ? { cwd: body.cwd } : {}),
    ...(body.user ? { user: body.user } : {}),
    ...(body.timeoutMs ? { timeoutMs: body.timeoutMs } : {}),
    ...(body.tag ? { tag: body.tag } : {}),
    stdin: body.stdin !== undefined || body.keepStdinOpen,
  };
}

/** Resolves with the started event, or rejects with the guest's reason when the spawn failed. */
export function started(s: GuestStream): Promise<{ processId: string; pid: number }> {
  return new Promise((resolve, reject) => {
    s.on('event', (ev: Record<string, unknown>) => {
      if (ev.type === 'started') resolve({ processId: String(ev.processId), pid: Number(ev.pid) });
    });
    s.result.then(
      (r) =>
        r.ok
          ? resolve({ processId: '', pid: 0 })
          : reject(new GuestError(r.error?.code ?? 'INTERNAL', r.error?.message ?? 'exec failed')),
      reject,
    );
  });
}

export function exitOf(r: Record<string, unknown>) {
  return {
    exitCode: typeof r.exitCode === 'number' ? r.exitCode : null,
    signal: typeof r.signal === 'string' ? r.signal : null,
    timedOut: r.timedOut === true,
    durationMs: typeof r.durationMs === 'number' ? r.durationMs : 0,
  };
}

/** Streams a guest exec stream as NDJSON lines; kills the process when the client goes away. */
/** Call it before awaiting anything: a short process's output may arrive in the same read. */
export function ndjson(
  reply: FastifyReply,
  s: GuestStream,
  onClientGone: 'kill' | 'detach' = 'kill',
): PassThrough {
  // Guarded: a route that fails after this (a command that cannot start) never consumes it.
  const out = passThrough();
  const line = (ev: ExecEvent, done?: () => void) => out.write(JSON.stringify(ev) + '\n', done);
  s.on('event', (ev: Record<string, unknown>) => {
    if (ev.type === 'started')
      line({ type: 'started', processId: String(ev.processId), pid: Number(ev.pid) });
  });
  // Output is credited back to the guest once its line moved on to the client: a client that
  // reads slowly (or not at all) stops the process at its pipe, not this agent's memory.
  s.holdCredit();
  for (const kind of ['stdout', 'stderr'] as const) {
    s.on(kind, (b: Buffer) => line({ type: kind, data: b.toString('base64') }, () => s.consumed(b.length)));
  }
  s.result.then(
    (r) => {
      if (r.ok) line({ type: 'exit', ...exitOf(r) });
      else line({ type: 'error', code: r.error?.code ?? 'INTERNAL', message: r.error?.message ?? 'failed' });
      out.end();
    },
    (e: GuestError) => {
      line({ type: 'error', code: e.code ?? 'INTERNAL', message: e.message });
      out.end();
    },
  );
  reply.raw.on('close', () => {
    s.discard();
    if (s.done) return;
    // An exec dies with its client (like ssh); leaving an attach only detaches.
    void s.control(onClientGone === 'kill' ? { type: 'signal', signal: 'KILL' } : { type: 'detach' });
  });
  reply.type('application/x-ndjson');
  return out;
}

export function execRoutes(app: FastifyInstance, sup: Supervisor): void {
  serve(app, agentRoutes.exec, async ({ params, body, reply }) => {
    const s = (await sup.guest(params.id)).open(toGuestExec(body));
    const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
    const sizes = { stdout: 0, stderr: 0 };
    if (!body.stream) {
      for (const k of ['stdout', 'stderr'] as const) {
        s.on(k, (b: Buffer) => {
          sizes[k] += b.length;
          if (sizes[k] <= MAX_COLLECTED) chunks[k].push(b);
          else void s.control({ type: 'signal', signal: 'KILL' });
        });
      }
    }
    const start = started(s);
    // Observed now, awaited later: a spawn failure may arrive while stdin is still being sent.
    start.catch(() => undefined);
    const stream = body.stream ? ndjson(reply, s) : null;
    if (body.stdin !== undefined) await s.write(Buffer.from(body.stdin, body.stdinEncoding));
    if (body.stdin !== undefined && !body.keepStdinOpen) await s.end();
    // A command that cannot start is an HTTP error, not a 200 stream that says so.
    const { processId } = await start;
    if (stream) return stream;
    const r = await s.result;
    if (!r.ok) throw new GuestError(r.error?.code ?? 'INTERNAL', r.error?.message ?? 'exec failed');
    for (const k of ['stdout', 'stderr'] as const) {
      if (sizes[k] > MAX_COLLECTED) {
        throw new GuestError(
          'TOO_LARGE',
          `${k} exceeded ${MAX_COLLECTED} bytes; use stream: true for large outputs`,
        );
      }
    }
    return {
      processId,
      ...exitOf(r),
      stdout: Buffer.concat(chunks.stdout).toString(body.encoding),
      stderr: Buffer.concat(chunks.stderr).toString(body.encoding),
      encoding: body.encoding,
    };
  });
}
