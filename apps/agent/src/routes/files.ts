import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { agentRoutes, type GuestRequest, type GuestResult } from '@hearth/contract';
import { uploadMeta } from './file-meta.ts';
import { passThrough } from '@hearth/contract/streams';
import type { Supervisor } from '../vm/index.ts';
import { GuestError } from '../guest/errors.ts';
import type { GuestStream } from '../guest/stream.ts';
import { ndjson } from './exec.ts';
import { serve } from '../http.ts';

type P = { params: { id: string } };

/** How long a download waits for the guest to describe the file before giving up on it. */
const META_TIMEOUT_MS = 30_000;

const guestFailure = (r: GuestResult, fallback: string) =>
  new GuestError(r.error?.code ?? 'INTERNAL', r.error?.message ?? fallback);

/** The stream's first event (a read's meta), or the guest's reason it ended first, or a timeout. */
function firstEvent(s: GuestStream, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void s.control({ type: 'cancel' });
      const e = new GuestError(
        'GUEST_TIMEOUT',
        `the guest agent did not answer within ${timeoutMs / 1000} s`,
      );
      s.fail(e);
      reject(e);
    }, timeoutMs);
    timer.unref();
    s.once('event', (ev: Record<string, unknown>) => {
      clearTimeout(timer);
      resolve(ev);
    });
    s.result.then(
      (r) => {
        clearTimeout(timer);
        reject(guestFailure(r, 'the read ended before any data'));
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** Files, metrics and tracked processes of a VM, through its guest agent. */
export function fileRoutes(
  app: FastifyInstance,
  sup: Supervisor,
  maxUploadBytes: number,
  readTimeoutMs = META_TIMEOUT_MS,
): void {
  const r = agentRoutes;
  const g = (req: P) => sup.guest(req.params.id);
  const request = async <T = Record<string, unknown>>(req: P, r: GuestRequest, timeoutMs?: number) =>
    (await g(req)).request<T>(r, timeoutMs);

  serve(app, r.downloadFile, async (req) => {
    const { query: q, reply } = req;
    const s = (await g(req)).open({ op: 'fs.read', path: q.path, format: q.format });
    // Listen before the first await: meta, data and result of a small file come in one read.
    // The body may fail before anything consumes it (no such file, the guest went away): the
    // guarded stream keeps that from being fatal, and the route reports it instead.
    const out = passThrough();
    // Credit comes back only as the body moves on to the client: a slow reader stops the guest's
    // reader instead of piling the file up here.
    s.holdCredit();
    s.on('stdout', (b: Buffer) => out.write(b, () => s.consumed(b.length)));
    s.result.then(
      (r) => (r.ok ? out.end() : out.destroy(guestFailure(r, 'the read failed'))),
      (e: Error) => out.destroy(e),
    );
    reply.raw.on('close', () => {
      s.discard();
      if (!s.done) void s.control({ type: 'cancel' });
    });
    let meta: Record<string, unknown>;
    try {
      meta = await firstEvent(s, readTimeoutMs);
    } catch (e) {
      out.destroy();
      throw e;
    }
    reply.header('x-hearth-file-kind', String(meta.kind));
    if (meta.kind === 'file' && typeof meta.size === 'number')
      reply.header('x-hearth-file-size', String(meta.size));
    reply.type(meta.kind === 'tar' ? 'application/x-tar' : 'application/octet-stream');
    // A failure after this point ends the response early (Fastify destroys it): the client sees
    // a broken transfer, never a short file that looks complete.
    return out;
  });

  serve(app, r.uploadFile, async (ctx) => {
    const { query: q, req } = ctx;
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > maxUploadBytes) {
      throw new GuestError(
        'TOO_LARGE',
        `the upload (${declared} bytes) exceeds the ${maxUploadBytes}-byte limit`,
      );
    }
    const guest = await g(ctx);
    const meta = uploadMeta(guest, q.meta);
    const s = guest.open({
      op: 'fs.write',
      path: q.path,
      format: q.format,
      parents: q.parents === 'true',
      maxBytes: maxUploadBytes,
      ...(q.mode ? { mode: parseInt(q.mode, 8) } : {}),
      ...(meta ? { meta } : {}),
    });
    let bytes = 0;
    try {
      for await (const chunk of req.body as Readable) {
        bytes += (chunk as Buffer).length;
        if (bytes > maxUploadBytes) {
          throw new GuestError('TOO_LARGE', `the upload exceeds the ${maxUploadBytes}-byte limit`);
        }
        if (s.done) break;
        await s.write(chunk as Buffer);
      }
    } catch (e) {
      // Too large, or the client went away mid-body: the guest must drop its partial file.
      await s.control({ type: 'cancel' });
      s.fail(e instanceof GuestError ? e : new GuestError('BAD_REQUEST', 'the upload was interrupted'));
      throw e;
    }
    if (s.done) {
      // The guest ended the write early (say, a path it refuses): report its reason.
      return { path: q.path, ...(await s.wait(1000)), bytes };
    }
    await s.end();
    return { path: q.path, ...(await s.wait(5 * 60_000)), bytes };
  });

  serve(app, r.statFile, async (req) => {
    const q = req.query;
    return (await request<{ stat: unknown }>(req, { op: 'fs.stat', path: q.path })).stat;
  });
  serve(app, r.listFiles, async (req) => {
    const q = req.query;
    return request(req, { op: 'fs.list', path: q.path, depth: q.depth });
  });
  serve(app, r.makeDir, async (req) => {
    const b = req.body;
    await request(req, { op: 'fs.mkdir', path: b.path, parents: b.parents });
    return { path: b.path };
  });
  serve(app, r.moveFile, async (req) => {
    const b = req.body;
    await request(req, { op: 'fs.move', from: b.from, to: b.to });
    return { path: b.to };
  });
  serve(app, r.removeFile, async (req) => {
    const q = req.query;
    await request(req, { op: 'fs.remove', path: q.path, recursive: q.recursive === 'true' });
    return { path: q.path };
  });

  // Metrics and info share the guest channel with transfers in flight (per-stream credit keeps
  // a transfer from holding the channel, but an emulated guest busy moving a file still answers
  // late): give them the ordinary bound.
  serve(app, r.metrics, async (req) => ({
    ...(await request(req, { op: 'metrics' })),
    at: new Date().toISOString(),
  }));
  serve(app, r.guestInfo, async (req) => request(req, { op: 'info' }));

  serve(app, r.listProcesses, async (req) => ({
    items: (await request<{ processes: unknown[] }>(req, { op: 'ps' })).processes,
  }));
  serve(app, r.signalProcess, async (req) => {
    const b = req.body;
    await request(req, { op: 'signal', processId: req.params.processId, signal: b.signal });
    return { ok: true };
  });
  serve(app, r.processStdin, async (req) => {
    const b = req.body;
    const processId = req.params.processId;
    const guest = await g(req);
    const data = Buffer.from(b.data, b.encoding);
    if (data.length) await guest.request({ op: 'write-stdin', processId, data: data.toString('base64') });
    if (b.close) await guest.request({ op: 'close-stdin', processId });
    return { ok: true };
  });
  serve(app, r.processOutput, async (req) => {
    const { query: q, reply } = req;
    const s = (await g(req)).open({
      op: 'attach',
      processId: req.params.processId,
      replay: q.replay === 'true',
    });
    // Listen before anything else: a finished process replays and ends at once.
    const out = ndjson(reply, s, 'detach');
    // Fail with the guest's reason (unknown process) before committing to a 200 stream.
    const early = await Promise.race([
      s.result.then((r) => r),
      new Promise<null>((r) => setTimeout(() => r(null), 300)),
    ]);
    if (early && !early.ok)
      throw new GuestError(early.error?.code ?? 'INTERNAL', early.error?.message ?? 'attach failed');
    return out;
  });
}
