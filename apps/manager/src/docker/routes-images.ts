import { createInterface } from 'node:readline';
import type { FastifyInstance } from 'fastify';
import type { Image, ImportEvent } from '@hearth/contract';
import { credsOf, must, type DockerDeps } from './calls.ts';
import { DockerError, fromHearth, notSupported } from './errors.ts';
import { allImages, familiar, findImage, imageInspect, imagePath, imageSummary, isOci } from './images.ts';

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let s = '';
  for await (const chunk of stream) s += String(chunk);
  return s;
}

const line = (o: unknown) => `${JSON.stringify(o)}\n`;

/** Docker's progress message for one of Hearth's import events. */
function progressLine(e: ImportEvent, ref: string): string {
  if (e.type === 'error') {
    const message = `${e.error.message} [${e.error.code}] ${e.error.hint}`;
    return line({ errorDetail: { message }, error: message });
  }
  if (e.type === 'done') {
    const digest = e.image.meta.ociDigest as string | undefined;
    const status = e.cached
      ? `Status: Image is up to date for ${ref}`
      : `Status: Downloaded newer image for ${ref}`;
    return (digest ? line({ status: `Digest: ${digest}` }) : '') + line({ status });
  }
  const detail =
    e.bytes !== undefined
      ? { progressDetail: { current: e.bytes, ...(e.totalBytes ? { total: e.totalBytes } : {}) } }
      : {};
  return line({ status: `${e.phase}: ${e.message}`, ...detail });
}

/** Images: pull through Hearth's OCI import, list, inspect and remove the imported ones. */
export function imageRoutes(app: FastifyInstance, deps: DockerDeps): void {
  const b = deps.backend;

  app.post('/images/create', async (req, reply) => {
    const creds = credsOf(req.headers);
    const q = req.query as Record<string, string | undefined>;
    if (q.fromSrc) throw notSupported('Importing a tarball (`docker import`)');
    if (!q.fromImage) throw new DockerError(400, 'fromImage is required.');
    const tag = q.tag || 'latest';
    const ref = `${q.fromImage}${tag.startsWith('sha256:') ? `@${tag}` : `:${tag}`}`;
    const abort = new AbortController();
    reply.raw.on('close', () => abort.abort());
    const res = await b.stream('POST', '/v1/images/import', creds, { ref, stream: true }, abort.signal);
    if (res.status >= 400) {
      const text = await readAll(res.stream);
      throw fromHearth(res.status, text ? JSON.parse(text) : null, { kind: 'image', ref });
    }
    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, { 'content-type': 'application/json' });
    out.write(line({ status: `Pulling from ${familiar(q.fromImage)}`, id: tag }));
    try {
      for await (const l of createInterface({ input: res.stream, crlfDelay: Infinity })) {
        if (!l.trim()) continue;
        out.write(progressLine(JSON.parse(l) as ImportEvent, familiar(ref)));
      }
    } catch (e) {
      const message = `Pulling ${ref} failed: ${(e as Error).message}`;
      out.write(line({ errorDetail: { message }, error: message }));
    }
    out.end();
  });

  app.get('/images/json', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const filters = q.filters
      ? (JSON.parse(q.filters) as Record<string, Record<string, boolean> | string[]>)
      : {};
    const wanted = (k: string) => {
      const f = filters[k];
      return f ? (Array.isArray(f) ? f : Object.keys(f)) : [];
    };
    for (const k of Object.keys(filters))
      if (k !== 'reference') throw new DockerError(400, `The image filter ${k} is not supported by Hearth.`);
    const refs = wanted('reference');
    const rows = (await allImages(b, credsOf(req.headers))).filter(isOci).map(imageSummary);
    return refs.length
      ? rows.filter((r) => r.RepoTags.some((t) => refs.some((f) => t === f || t.split(':')[0] === f)))
      : rows;
  });

  // Names carry slashes (`registry:5000/app:tag`), so the rest of the path is parsed here.
  const named = (url: string) => decodeURIComponent(url.split('?')[0]!.replace(/^\/images\//, ''));

  app.get('/images/*', async (req) => {
    const rest = named(req.url);
    if (!rest.endsWith('/json')) throw notSupported(`GET /images/${rest}`);
    const ref = rest.slice(0, -'/json'.length);
    const img = await findImage(b, credsOf(req.headers), ref);
    if (!img) throw new DockerError(404, `No such image: ${ref}`);
    return imageInspect(img);
  });

  app.delete('/images/*', async (req) => {
    const ref = named(req.url);
    const creds = credsOf(req.headers);
    const img = await findImage(b, creds, ref);
    if (!img) throw new DockerError(404, `No such image: ${ref}`);
    const gone = await must<Image>(b, creds, 'DELETE', imagePath(img), undefined, { kind: 'image', ref });
    return [{ Untagged: ref }, { Deleted: `sha256:${gone.sha256}` }];
  });
}
