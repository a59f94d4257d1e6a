import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import {
  AttachQuery,
  FilesQuery,
  ListQuery,
  MkdirBody,
  MoveBody,
  RemoveQuery,
  SignalBody,
  StatQuery,
  StdinBody,
  UploadQuery,
  type GuestRequest,
  type GuestResult,
} from '@hearth/contract';
import { passThrough } from '@hearth/contract/streams';
import type { Supervisor } from '../supervisor.ts';
import { GuestError } from '../guest/errors.ts';
import type { GuestStream } from '../guest/stream.ts';
import { ndjson } from './exec.ts';

type P = { params: unknown };
const vmId = (req: P) => (req.params as { id: string }).id;

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
  const g = (req: P) => sup.guest(vmId(req));
  const request = async <T = Record<string, unknown>>(req: P, r: GuestRequest, timeoutMs?: number) =>
    (await g(req)).request<T>(r, timeoutMs);

  app.get('/agent/v1/vms/:id/files', async (req, reply) => {
    const q = FilesQuery.parse(req.query);
    const s = (await g(req)).open({ op: 'fs.read', path: q.path, format: q.format });
    // Listen before the first await: meta, data and result of a small file come in one read.
    // The body may fail before anything consumes it (no such file, the guest went away): the
    // guarded stream keeps that from being fatal, and the route reports it instead.
    const out = passThrough();
    s.on('stdout', (b: Buffer) => out.write(b));
    s.result.then(
      (r) => (r.ok ? out.end() : out.destroy(guestFailure(r, 'the read failed'))),
      (e: Error) => out.destroy(e),
    );
    reply.raw.on('close', () => {
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

  app.put('/agent/v1/vms/:id/files', async (req) => {
    const q = UploadQuery.parse(req.query);
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > maxUploadBytes) {
      throw new GuestError(
        'TOO_LARGE',
        `the upload (${declared} bytes) exceeds the ${maxUploadBytes}-byte limit`,
      );
    }
    const s = (await g(req)).open({
      op: 'fs.write',
      path: q.path,
      format: q.format,
      parents: q.parents === 'true',
      maxBytes: maxUploadBytes,
      ...(q.mode ? { mode: parseInt(q.mode, 8) } : {}),
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

  app.get('/agent/v1/vms/:id/files/stat', async (req) => {
    const q = StatQuery.parse(req.query);
    return (await request<{ stat: unknown }>(req, { op: 'fs.stat', path: q.path })).stat;
  });
  app.get('/agent/v1/vms/:id/files/list', async (req) => {
    const q = ListQuery.parse(req.query);
    return request(req, { op: 'fs.list', path: q.path, depth: q.depth });
  });
  app.post('/agent/v1/vms/:id/files/mkdir', async (req) => {
    const b = MkdirBody.parse(req.body);
    await request(req, { op: 'fs.mkdir', path: b.path, parents: b.parents });
    return { path: b.path };
  });
  app.post('/agent/v1/vms/:id/files/move', async (req) => {
    const b = MoveBody.parse(req.body);
    await request(req, { op: 'fs.move', from: b.from, to: b.to });
    return { path: b.to };
  });
  app.delete('/agent/v1/vms/:id/files', async (req) => {
    const q = RemoveQuery.parse(req.query);
    await request(req, { op: 'fs.remove', path: q.path, recursive: q.recursive === 'true' });
    return { path: q.path };
  });

  // Metrics and info share the guest channel with transfers in flight (no per-stream flow control
  // yet), so an emulated guest busy moving a file answers late: give them the ordinary bound.
  app.get('/agent/v1/vms/:id/metrics', async (req) => ({
    ...(await request(req, { op: 'metrics' })),
    at: new Date().toISOString(),
  }));
  app.get('/agent/v1/vms/:id/guest', async (req) => request(req, { op: 'info' }));

  app.get('/agent/v1/vms/:id/processes', async (req) => ({
    items: (await request<{ processes: unknown[] }>(req, { op: 'ps' })).processes,
  }));
  const pid = (req: P) => (req.params as { processId: string }).processId;
  app.post('/agent/v1/vms/:id/processes/:processId/signal', async (req) => {
    const b = SignalBody.parse(req.body);
    await request(req, { op: 'signal', processId: pid(req), signal: b.signal });
    return { ok: true };
  });
  app.post('/agent/v1/vms/:id/processes/:processId/stdin', async (req) => {
    const b = StdinBody.parse(req.body ?? {});
    const guest = await g(req);
    const data = Buffer.from(b.data, b.encoding);
    if (data.length)
      await guest.request({ op: 'write-stdin', processId: pid(req), data: data.toString('base64') });
    if (b.close) await guest.request({ op: 'close-stdin', processId: pid(req) });
    return { ok: true };
  });
  app.get('/agent/v1/vms/:id/processes/:processId/output', async (req, reply) => {
    const q = AttachQuery.parse(req.query);
    const s = (await g(req)).open({ op: 'attach', processId: pid(req), replay: q.replay === 'true' });
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
