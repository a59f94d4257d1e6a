import type { FastifyInstance } from 'fastify';
import type { Container, Image } from '@hearth/contract';
import { credsOf, enc, getContainer, listContainers, must, type DockerDeps } from './calls.ts';
import { DockerError, notSupported } from './errors.ts';
import { allImages, familiar, refOf } from './images.ts';
import { translateCreate, type DockerCreateBody } from './translate-create.ts';
import { dockerState, inspectOf, psItem } from './translate-view.ts';
import { waitUntil } from './wait.ts';

type IdReq = { Params: { id: string }; Querystring: Record<string, string | undefined> };

const truthy = (v: string | undefined) => v === '1' || v === 'true' || v === 'True';

/** A container as Docker shows it: the image by the reference it was pulled as. */
function view(c: Container, images: Map<string, Image>): { c: Container; img: Image | undefined } {
  const img = c.imageId ? images.get(c.imageId) : undefined;
  return { c: img && c.image === img.id ? { ...c, image: familiar(refOf(img)) } : c, img };
}

/** The `filters` of `GET /containers/json` that Hearth applies; any other is refused by name. */
function filterOf(raw: string | undefined): (c: Container) => boolean {
  if (!raw) return () => true;
  const parsed = JSON.parse(raw) as Record<string, Record<string, boolean> | string[]>;
  const tests: Array<(c: Container) => boolean> = [];
  for (const [key, v] of Object.entries(parsed)) {
    const values = Array.isArray(v) ? v : Object.keys(v);
    const any = (f: (c: Container, x: string) => boolean) => (c: Container) => values.some((x) => f(c, x));
    if (key === 'name') tests.push(any((c, x) => c.name.includes(x.replace(/^\//, ''))));
    else if (key === 'id') tests.push(any((c, x) => c.id.startsWith(x)));
    else if (key === 'status') tests.push(any((c, x) => dockerState(c) === x));
    else if (key === 'label')
      tests.push(
        any((c, x) => {
          const [k, val] = x.split('=', 2) as [string, string?];
          return k in c.labels && (val === undefined || c.labels[k] === val);
        }),
      );
    else throw new DockerError(400, `The container filter ${key} is not supported by Hearth.`);
  }
  return (c) => tests.every((t) => t(c));
}

/** Container lifecycle: create, list, inspect, start/stop/restart/kill/pause/unpause, wait, remove. */
export function containerRoutes(app: FastifyInstance, deps: DockerDeps): void {
  const b = deps.backend;
  const imageIndex = async (creds: Record<string, string>) =>
    new Map((await allImages(b, creds)).map((i) => [i.id, i]));

  app.post<{ Querystring: { name?: string }; Body: DockerCreateBody | null }>(
    '/containers/create',
    async (req, reply) => {
      const creds = credsOf(req.headers);
      const body = req.body ?? {};
      const spec = translateCreate(body, req.query.name || undefined);
      if (!body.Image) throw new DockerError(400, 'Config.Image is required.');
      // Hearth resolves the reference among the imported images only (pull: never), so an image
      // not pulled yet is Docker's "No such image", on which the client pulls and creates again.
      const c = await must<Container>(
        b,
        creds,
        'POST',
        '/v1/containers',
        { ...spec, image: body.Image },
        { kind: 'image', ref: body.Image },
      );
      return reply.code(201).send({ Id: c.id, Warnings: [] });
    },
  );

  app.get<{ Querystring: Record<string, string | undefined> }>('/containers/json', async (req) => {
    const creds = credsOf(req.headers);
    const keep = filterOf(req.query.filters);
    const all = truthy(req.query.all);
    const images = await imageIndex(creds);
    let rows = (await listContainers(b, creds, true))
      .filter(
        (c) =>
          all ||
          dockerState(c) === 'running' ||
          dockerState(c) === 'paused' ||
          dockerState(c) === 'restarting',
      )
      .filter(keep)
      .sort((a, z) => z.createdAt.localeCompare(a.createdAt));
    const limit = Number(req.query.limit ?? -1);
    if (limit > 0) rows = rows.slice(0, limit);
    return rows.map((c) => {
      const v = view(c, images);
      return psItem(v.c, v.img);
    });
  });

  app.get<IdReq>('/containers/:id/json', async (req) => {
    const creds = credsOf(req.headers);
    const c = await getContainer(b, creds, req.params.id);
    const img = c.imageId ? (await imageIndex(creds)).get(c.imageId) : undefined;
    const v = view(c, new Map(img ? [[img.id, img]] : []));
    return inspectOf(v.c, v.img);
  });

  /** Runs a Hearth verb on a container, then waits for the state Docker answers in. */
  const verb = (
    path: string,
    action: string,
    opts: {
      body?: (q: Record<string, string | undefined>) => unknown;
      /** Docker answers 304 (nothing done) when the container is already so. */
      already?: (c: Container) => boolean;
      notRunning?: boolean;
      waitFor?: 'running' | 'exited';
    },
  ) =>
    app.post<IdReq>(`/containers/:id/${path}`, async (req, reply) => {
      const creds = credsOf(req.headers);
      const c = await getContainer(b, creds, req.params.id);
      if (opts.already?.(c)) return reply.code(304).send();
      if (opts.notRunning && dockerState(c) !== 'running' && dockerState(c) !== 'paused')
        throw new DockerError(409, `Container ${req.params.id} is not running`);
      await must(b, creds, 'POST', `/v1/containers/${enc(c.id)}/${action}`, opts.body?.(req.query) ?? {}, {
        kind: 'container',
        ref: req.params.id,
      });
      if (opts.waitFor) {
        const now = await waitUntil(b, creds, c.id, opts.waitFor);
        if (opts.waitFor === 'running' && now?.state === 'failed')
          throw new DockerError(500, `Starting ${c.name} failed: ${now.stateReason ?? 'see `docker logs`'}`);
      }
      return reply.code(204).send();
    });

  const stopBody = (q: Record<string, string | undefined>) =>
    q.t !== undefined && q.t !== '' ? { timeoutSeconds: Math.max(0, Number(q.t)) } : {};
  verb('start', 'start', { already: (c) => dockerState(c) === 'running', waitFor: 'running' });
  verb('stop', 'stop', {
    body: stopBody,
    already: (c) => !['running', 'paused', 'restarting'].includes(dockerState(c)),
    waitFor: 'exited',
  });
  verb('restart', 'restart', { body: stopBody, waitFor: 'running' });
  verb('kill', 'kill', {
    body: (q) => (q.signal ? { signal: /^\d+$/.test(q.signal) ? q.signal : q.signal.toUpperCase() } : {}),
    notRunning: true,
  });
  verb('pause', 'pause', { notRunning: true });
  verb('unpause', 'resume', {});

  app.post<IdReq>('/containers/:id/wait', async (req) => {
    const creds = credsOf(req.headers);
    const c = await getContainer(b, creds, req.params.id);
    const condition = req.query.condition ?? 'not-running';
    if (condition === 'next-exit') throw notSupported('wait?condition=next-exit');
    const done = await waitUntil(
      b,
      creds,
      c.id,
      condition === 'removed' ? 'removed' : 'exited',
      24 * 3600_000,
    );
    return {
      StatusCode: done?.exitCode ?? 0,
      Error: done?.state === 'failed' ? { Message: done.stateReason ?? '' } : null,
    };
  });

  app.delete<IdReq>('/containers/:id', async (req, reply) => {
    const creds = credsOf(req.headers);
    const c = await getContainer(b, creds, req.params.id);
    const force = truthy(req.query.force);
    if (!force && ['running', 'paused', 'restarting'].includes(dockerState(c)))
      throw new DockerError(
        409,
        `You cannot remove a running container ${c.id}. Stop the container before attempting removal or force remove`,
      );
    const q = new URLSearchParams({
      ...(force ? { force: 'true' } : {}),
      ...(truthy(req.query.v) ? { volumes: 'true' } : {}),
    });
    await must(b, creds, 'DELETE', `/v1/containers/${enc(c.id)}?${q}`, undefined, {
      kind: 'container',
      ref: req.params.id,
    });
    await waitUntil(b, creds, c.id, 'removed');
    return reply.code(204).send();
  });

  for (const what of ['attach', 'attach/ws'])
    app.all(`/containers/:id/${what}`, async () => {
      throw notSupported(
        'Attaching to a container (`docker run` without -d, `docker start -a`, `docker attach`); run it with `docker run -d` and read it with `docker logs -f`, or `docker exec -it`',
      );
    });
}
