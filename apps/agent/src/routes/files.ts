import { PassThrough, type Readable } from 'node:stream';
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
} from '@hearth/contract';
import type { Supervisor } from '../supervisor.ts';
import { GuestError } from '../guest/errors.ts';
import { ndjson } from './exec.ts';

type P = { params: unknown };
const vmId = (req: P) => (req.params as { id: string }).id;

/** Files, metrics and tracked processes of a VM, through its guest agent. */
export function fileRoutes(app: FastifyInstance, sup: Supervisor, maxUploadBytes: number): void {
  const g = (req: P) => sup.guest(vmId(req));

  app.get('/agent/v1/vms/:id/files', async (req, reply) => {
    const q = FilesQuery.parse(req.query);
    const s = g(req).open({ op: 'fs.read', path: q.path, format: q.format });
    // Listen before the first await: a small file's data can arrive in the same read as its
    // metadata event, and would be emitted before a listener attached after the await.
    const out = new PassThrough();
    s.on('stdout', (b: Buffer) => out.write(b));
    const meta = await new Promise<Record<string, unknown>>((resolve, reject) => {
      s.once('event', (ev: Record<string, unknown>) => resolve(ev));
      s.result.then(
        (r) =>
          reject(
            new GuestError(r.error?.code ?? 'INTERNAL', r.error?.message ?? 'read ended before any data'),
          ),
        reject,
      );
    });
    s.result.then(
      (r) => (r.ok ? out.end() : out.destroy(new Error(r.error?.message))),
      (e: Error) => out.destroy(e),
    );
    reply.raw.on('close', () => {
      if (!s.done) void s.control({ type: 'cancel' });
    });
    reply.header('x-hearth-file-kind', String(meta.kind));
    if (meta.kind === 'file' && typeof meta.size === 'number')
      reply.header('x-hearth-file-size', String(meta.size));
    reply.type(meta.kind === 'tar' ? 'application/x-tar' : 'application/octet-stream');
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
    const s = g(req).open({
      op: 'fs.write',
      path: q.path,
      format: q.format,
      parents: q.parents === 'true',
      maxBytes: maxUploadBytes,
      ...(q.mode ? { mode: parseInt(q.mode, 8) } : {}),
    });
    let bytes = 0;
    for await (const chunk of req.body as Readable) {
      bytes += (chunk as Buffer).length;
      if (bytes > maxUploadBytes) {
        await s.control({ type: 'cancel' });
        throw new GuestError('TOO_LARGE', `the upload exceeds the ${maxUploadBytes}-byte limit`);
      }
      if (s.done) break;
      await s.write(chunk as Buffer);
    }
    await s.end();
    return { path: q.path, ...(await s.wait(5 * 60_000)), bytes };
  });

  app.get('/agent/v1/vms/:id/files/stat', async (req) => {
    const q = StatQuery.parse(req.query);
    return (await g(req).request({ op: 'fs.stat', path: q.path })).stat;
  });
  app.get('/agent/v1/vms/:id/files/list', async (req) => {
    const q = ListQuery.parse(req.query);
    return g(req).request({ op: 'fs.list', path: q.path, depth: q.depth });
  });
  app.post('/agent/v1/vms/:id/files/mkdir', async (req) => {
    const b = MkdirBody.parse(req.body);
    await g(req).request({ op: 'fs.mkdir', path: b.path, parents: b.parents });
    return { path: b.path };
  });
  app.post('/agent/v1/vms/:id/files/move', async (req) => {
    const b = MoveBody.parse(req.body);
    await g(req).request({ op: 'fs.move', from: b.from, to: b.to });
    return { path: b.to };
  });
  app.delete('/agent/v1/vms/:id/files', async (req) => {
    const q = RemoveQuery.parse(req.query);
    await g(req).request({ op: 'fs.remove', path: q.path, recursive: q.recursive === 'true' });
    return { path: q.path };
  });

  app.get('/agent/v1/vms/:id/metrics', async (req) => ({
    ...(await g(req).request({ op: 'metrics' }, 10_000)),
    at: new Date().toISOString(),
  }));
  app.get('/agent/v1/vms/:id/guest', async (req) => g(req).request({ op: 'info' }, 10_000));

  app.get('/agent/v1/vms/:id/processes', async (req) => ({
    items: (await g(req).request<{ processes: unknown[] }>({ op: 'ps' })).processes,
  }));
  const pid = (req: P) => (req.params as { processId: string }).processId;
  app.post('/agent/v1/vms/:id/processes/:processId/signal', async (req) => {
    const b = SignalBody.parse(req.body);
    await g(req).request({ op: 'signal', processId: pid(req), signal: b.signal });
    return { ok: true };
  });
  app.post('/agent/v1/vms/:id/processes/:processId/stdin', async (req) => {
    const b = StdinBody.parse(req.body ?? {});
    const guest = g(req);
    const data = Buffer.from(b.data, b.encoding);
    if (data.length)
      await guest.request({ op: 'write-stdin', processId: pid(req), data: data.toString('base64') });
    if (b.close) await guest.request({ op: 'close-stdin', processId: pid(req) });
    return { ok: true };
  });
  app.get('/agent/v1/vms/:id/processes/:processId/output', async (req, reply) => {
    const q = AttachQuery.parse(req.query);
    const s = g(req).open({ op: 'attach', processId: pid(req), replay: q.replay === 'true' });
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
