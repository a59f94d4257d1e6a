import { passThrough } from '@hearth/contract/streams';
import type { FastifyInstance } from 'fastify';
import { credsOf, getContainer, type DockerDeps } from './calls.ts';
import { DockerError, notSupported } from './errors.ts';
import type { ExecConfig, ExecStore } from './exec-store.ts';
import { runExec } from './exec-run.ts';
import { dockerState } from './translate-view.ts';

/** Docker's exec: create, start (detached here; attached starts are hijacked, see hijack.ts), resize, inspect. */
export function execRoutes(app: FastifyInstance, deps: DockerDeps, execs: ExecStore): void {
  const b = deps.backend;

  app.post<{ Params: { id: string }; Body: ExecConfig | null }>(
    '/containers/:id/exec',
    async (req, reply) => {
      const creds = credsOf(req.headers);
      const c = await getContainer(b, creds, req.params.id);
      if (dockerState(c) !== 'running' || !c.vm)
        throw new DockerError(409, `Container ${c.id} is not running`);
      const config = req.body ?? {};
      if (!config.Cmd?.length) throw new DockerError(400, 'No exec command specified');
      if (config.Privileged) throw notSupported('A privileged exec (`--privileged`)');
      const rec = execs.create(c.id, c.vm, config, creds);
      return reply.code(201).send({ Id: rec.id });
    },
  );

  // A start that is not hijacked: detached (`docker exec -d`), or a client that reads the
  // raw stream from a plain response.
  app.post<{ Params: { id: string }; Body: { Detach?: boolean; Tty?: boolean } | null }>(
    '/exec/:id/start',
    async (req, reply) => {
      const creds = credsOf(req.headers);
      const rec = execs.require(req.params.id);
      if (rec.running || rec.endedAt) throw new DockerError(409, `Exec ${rec.id} has already run`);
      rec.creds = creds;
      if (req.body?.Detach) {
        const sink = passThrough();
        sink.resume();
        void runExec(b, rec, { out: sink, input: null });
        return reply.code(200).send();
      }
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'application/vnd.docker.raw-stream' });
      await runExec(b, rec, { out: reply.raw, input: null });
    },
  );

  app.post<{ Params: { id: string }; Querystring: { h?: string; w?: string } }>(
    '/exec/:id/resize',
    async (req, reply) => {
      credsOf(req.headers);
      const rec = execs.require(req.params.id);
      const h = Number(req.query.h);
      const w = Number(req.query.w);
      if (!(h > 0 && w > 0)) throw new DockerError(400, 'h and w must be positive numbers');
      rec.size = { h, w };
      rec.resize?.(h, w);
      return reply.code(200).send();
    },
  );

  app.get<{ Params: { id: string } }>('/exec/:id/json', async (req) => {
    credsOf(req.headers);
    const rec = execs.require(req.params.id);
    const c = rec.config;
    return {
      ID: rec.id,
      ContainerID: rec.containerId,
      Running: rec.running,
      ExitCode: rec.exitCode,
      Pid: rec.pid,
      OpenStdin: Boolean(c.AttachStdin),
      OpenStdout: c.AttachStdout !== false,
      OpenStderr: c.AttachStderr !== false,
      CanRemove: !rec.running && rec.endedAt !== null,
      DetachKeys: c.DetachKeys ?? '',
      ProcessConfig: {
        tty: Boolean(c.Tty),
        entrypoint: c.Cmd?.[0] ?? '',
        arguments: c.Cmd?.slice(1) ?? [],
        privileged: false,
        user: c.User ?? '',
      },
    };
  });
}
