import { createInterface } from 'node:readline';
import { passThrough } from '@hearth/contract/streams';
import type { FastifyInstance } from 'fastify';
import type { ContainerLogLine } from '@hearth/contract';
import { credsOf, enc, getContainer, type DockerDeps } from './calls.ts';
import { fromHearth } from './errors.ts';
import { dockerTime, dockerTimestamp, frame, STDERR, STDOUT } from './frames.ts';

const truthy = (v: string | undefined) => v === '1' || v === 'true' || v === 'True';

/**
 * `GET /containers/{id}/logs`: Hearth's persisted app log (NDJSON lines) as Docker's
 * multiplexed stream, following while the client stays connected.
 */
export function logRoutes(app: FastifyInstance, deps: DockerDeps): void {
  app.get<{ Params: { id: string }; Querystring: Record<string, string | undefined> }>(
    '/containers/:id/logs',
    async (req, reply) => {
      const creds = credsOf(req.headers);
      const q = req.query;
      const c = await getContainer(deps.backend, creds, req.params.id);
      const stdout = truthy(q.stdout);
      const stderr = truthy(q.stderr);
      const timestamps = truthy(q.timestamps);
      const since = dockerTime(q.since);
      const until = dockerTime(q.until);
      const hq = new URLSearchParams({
        format: 'ndjson',
        stdout: String(stdout),
        stderr: String(stderr),
        ...(truthy(q.follow) ? { follow: 'true' } : {}),
        ...(q.tail && q.tail !== 'all' ? { tail: q.tail } : {}),
        ...(since ? { since } : {}),
        ...(until ? { until } : {}),
      });
      const abort = new AbortController();
      reply.raw.on('close', () => abort.abort());
      let res = await deps.backend.stream(
        'GET',
        `/v1/containers/${enc(c.id)}/logs?${hq}`,
        creds,
        undefined,
        abort.signal,
      );
      // Until the container route is served, the same log comes from its VM's app log route.
      if (res.status === 404 && c.vm) {
        let text = '';
        for await (const chunk of res.stream) text += String(chunk);
        if (text.includes('ROUTE_NOT_FOUND'))
          res = await deps.backend.stream(
            'GET',
            `/v1/vms/${enc(c.vm)}/app/logs?${hq}`,
            creds,
            undefined,
            abort.signal,
          );
        else res = { ...res, stream: passThrough().end(text) };
      }
      if (res.status >= 400) {
        let text = '';
        for await (const chunk of res.stream) text += String(chunk);
        throw fromHearth(res.status, text ? JSON.parse(text) : null, {
          kind: 'container',
          ref: req.params.id,
        });
      }
      reply.hijack();
      const out = reply.raw;
      out.writeHead(200, { 'content-type': 'application/vnd.docker.raw-stream' });
      out.flushHeaders();
      try {
        for await (const l of createInterface({ input: res.stream, crlfDelay: Infinity })) {
          if (!l.trim()) continue;
          const e = JSON.parse(l) as ContainerLogLine;
          const text = `${timestamps ? `${dockerTimestamp(e.t)} ` : ''}${e.line}\n`;
          if (!out.write(frame(e.stream === 'stderr' ? STDERR : STDOUT, text)))
            await new Promise((r) => out.once('drain', r));
        }
      } catch {
        // The client went away (abort) or the stream broke: nothing left to tell anyone.
      }
      out.end();
    },
  );
}
