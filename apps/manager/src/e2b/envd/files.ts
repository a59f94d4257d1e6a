import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Busboy, type BusboyInstance } from '@fastify/busboy';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fromWeb, guard } from '@hearth/contract/streams';
import { connectStatus, EnvdError } from './context.ts';
import { uploadMetadata } from './file-metadata.ts';
import { callContext, type CallContext } from './filesystem/call.ts';
import { envdCode, resolvePath, type EnvdFsDeps } from './filesystem/guest.ts';
import { installParsers } from './filesystem/rpc.ts';

/** What POST /files answers for each file written (envd's EntryInfo of its REST API). */
interface WrittenFile {
  name: string;
  type: 'file';
  path: string;
  /** What the upload's X-Metadata-* headers asked the guest to keep (envd 0.6.2). */
  metadata?: Record<string, string>;
}

interface FilesQuery {
  path?: string;
  username?: string;
}

/**
 * envd's REST errors: `{code, message}` where code is the HTTP status. A sandbox that is not
 * running answers 502, as E2B's proxy does (the SDK reads it as the sandbox having timed out).
 */
function sendError(reply: FastifyReply, e: unknown): FastifyReply {
  const err = envdCode(e);
  const status = err.code === 'unavailable' ? 502 : connectStatus[err.code];
  return reply.code(status).type('application/json').send({ code: status, message: err.message });
}

function query(req: FastifyRequest): FilesQuery {
  const q = (req.query ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return { path: str(q.path), username: str(q.username) };
}

/**
 * Writes one uploaded file as envd does: missing parent directories are created owned by the
 * user, the file is replaced whole (its metadata `meta`, none without), and then owned by the
 * user.
 */
async function writeOne(
  c: CallContext,
  path: string,
  body: Readable,
  meta: Record<string, string> | undefined,
): Promise<WrittenFile> {
  await c.guest.ensureDirs(posix.dirname(path), c.user);
  await c.guest.upload(path, body, undefined, meta);
  await c.guest.chown(path, c.user);
  return { name: posix.basename(path), type: 'file', path, ...(meta ? { metadata: meta } : {}) };
}

/** The files of a multipart body, one after another (each part is streamed to the guest as it arrives). */
function multipart(
  req: FastifyRequest,
  c: CallContext,
  q: FilesQuery,
  meta: Record<string, string> | undefined,
): Promise<WrittenFile[]> {
  return new Promise((resolve, reject) => {
    const written: WrittenFile[] = [];
    let chain: Promise<void> = Promise.resolve();
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      reject(e instanceof Error ? e : new EnvdError('invalid_argument', String(e)));
    };
    let bb: BusboyInstance;
    try {
      // The SDK names each part by its full path: keep it as the file name.
      bb = guard(new Busboy({ headers: req.headers as never, preservePath: true }), fail);
    } catch (e) {
      return fail(new EnvdError('invalid_argument', `error parsing multipart form: ${(e as Error).message}`));
    }
    bb.on('file', (field, file, filename) => {
      guard(file, fail);
      if (field !== 'file' || failed) {
        file.resume();
        return;
      }
      // Busboy holds the next part back until this one's stream has been read.
      chain = chain.then(async () => {
        if (failed) return void file.resume();
        try {
          const name = q.path ?? filename;
          if (!name) throw new EnvdError('invalid_argument', 'a file part has no path');
          const path = resolvePath(name, c.user);
          if (written.some((w) => w.path === path)) {
            throw new EnvdError(
              'invalid_argument',
              `you cannot upload multiple files to the same path '${path}' in one upload request`,
            );
          }
          // Every file of one upload gets the same metadata, as on envd.
          written.push(await writeOne(c, path, file, meta));
        } catch (e) {
          file.resume();
          fail(e);
        }
      });
    });
    bb.on('finish', () => {
      void chain.then(() => {
        if (!failed) resolve(written);
      });
    });
    pipeline(req.body as Readable, bb).catch(fail);
  });
}

/**
 * envd's REST file transfer: GET /files (download) and POST /files (multipart, or a raw
 * application/octet-stream body, possibly gzip-encoded), with `path` and `username` in the query.
 * Bytes stream through; nothing is held whole in memory.
 */
export async function registerEnvdFiles(app: FastifyInstance, deps: EnvdFsDeps): Promise<void> {
  await app.register(async (scope) => {
    installParsers(scope);

    scope.get('/files', async (req, reply) => {
      try {
        const q = query(req);
        if (!q.path) throw new EnvdError('invalid_argument', 'path is required');
        const c = await callContext(deps, req, q.username);
        const path = resolvePath(q.path, c.user);
        const res = await c.guest.download(path);
        if (res.headers.get('x-hearth-file-kind') === 'tar') {
          await res.body?.cancel();
          throw new EnvdError('invalid_argument', `path is a directory: ${path}`);
        }
        const size = res.headers.get('x-hearth-file-size');
        if (size) reply.header('content-length', size);
        reply
          .header(
            'content-disposition',
            `inline; filename="${posix.basename(path).replace(/["\\\r\n]/g, '_')}"`,
          )
          .type('application/octet-stream');
        return reply.send(fromWeb(res.body!));
      } catch (e) {
        return sendError(reply, e);
      }
    });

    scope.post('/files', async (req, reply) => {
      const body = req.body as Readable | undefined;
      try {
        const q = query(req);
        const meta = uploadMetadata(req.raw);
        const c = await callContext(deps, req, q.username);
        const type = String(req.headers['content-type'] ?? '');
        if (!(body instanceof Readable)) {
          throw new EnvdError(
            'invalid_argument',
            'send the files as multipart/form-data or application/octet-stream',
          );
        }
        if (type.startsWith('application/octet-stream')) {
          if (!q.path)
            throw new EnvdError(
              'invalid_argument',
              'path is required for an application/octet-stream upload',
            );
          const encoding = String(req.headers['content-encoding'] ?? '').toLowerCase();
          let raw: Readable = body;
          if (encoding === 'gzip') {
            const gunzip = guard(createGunzip());
            // A bad gzip stream fails the gunzip, and with it the upload that reads from it.
            pipeline(body, gunzip).catch(() => undefined);
            raw = gunzip;
          }
          return [await writeOne(c, resolvePath(q.path, c.user), raw, meta)];
        }
        return await multipart(req, c, q, meta);
      } catch (e) {
        // Whatever of the body is left is read and dropped, so the answer reaches the client.
        body?.resume();
        return sendError(reply, e);
      }
    });
  });
}
