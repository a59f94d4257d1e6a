import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { HearthError, routes } from '@hearth/contract';
import { fromWeb } from '@hearth/contract/streams';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';
import type { AgentTarget } from '../services/agent-client.ts';

export const DEFAULT_MAX_UPLOAD_BYTES = 1024 * 1024 * 1024;

/**
 * Copies the agent's streamed response (headers that matter, then the body) to our reply. An
 * agent that dies mid-body fails the stream after the headers went out: Fastify then cuts the
 * client's response short (a broken transfer, not a complete-looking one); a client that goes
 * away destroys the stream, which cancels the fetch, and the agent stops the guest's side.
 */
export function pipeResponse(res: Response, reply: FastifyReply, headers: string[]): Readable {
  for (const h of headers) {
    const v = res.headers.get(h);
    if (v) reply.header(h, v);
  }
  return fromWeb(res.body!);
}

/** Reads an agent's JSON answer; an agent that dies mid-body is unreachable, not an internal error. */
export async function readJson(res: Response, host: AgentTarget): Promise<unknown> {
  try {
    return await res.json();
  } catch (e) {
    throw new HearthError(
      'AGENT_UNREACHABLE',
      `Reading the answer of the agent of host ${host.id} failed: ${(e as Error).message}.`,
    );
  }
}

/** A Transform that fails once more than `limit` bytes went through. */
function byteLimit(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > limit)
        cb(
          new HearthError('PAYLOAD_TOO_LARGE', `Uploading failed: the body exceeds the ${limit}-byte limit.`),
        );
      else cb(null, chunk);
    },
  });
}

export type AccessTarget = (
  idOrName: string,
  project: string,
  anyState?: boolean,
) => Promise<{ host: AgentTarget & { tls_pins: string[] | null }; vmId: string }>;

/**
 * Resolves a VM of `project` to its host's agent and its id there; the VM must be running unless
 * `anyState`.
 */
export function accessTarget(stores: AppServices['stores']): AccessTarget {
  return async function target(idOrName, project, anyState = false) {
    const vm = await stores.vms.require(idOrName, project);
    if (!anyState && vm.state !== 'running') {
      throw new HearthError(
        'VM_NOT_RUNNING',
        `Reaching the guest of VM "${vm.name}" failed: it is ${vm.state}, not running.`,
        { detail: { state: vm.state } },
      );
    }
    if (!vm.host_id) throw new HearthError('VM_NOT_RUNNING', `VM "${vm.name}" is not placed on any host.`);
    return { host: await stores.hosts.require(vm.host_id), vmId: vm.id };
  };
}

export function vmAccessRoutes(app: FastifyInstance, deps: AppServices): void {
  const { stores, agents, auth } = deps;
  const t = auth;
  const maxUpload = deps.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const target = accessTarget(stores);

  serve(app, t, routes.execVm, async ({ params, project, body, reply }) => {
    const { host, vmId } = await target(params.id, project);
    const res = await agents.raw(
      host,
      'exec',
      { params: { id: vmId } },
      {
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
        stream: body.stream === true,
      },
    );
    if (!body.stream) return readJson(res, host);
    reply.type('application/x-ndjson');
    return pipeResponse(res, reply, []);
  });

  serve(app, t, routes.downloadFile, async ({ params, project, query, reply }) => {
    const { host, vmId } = await target(params.id, project);
    const res = await agents.raw(host, 'downloadFile', { params: { id: vmId }, query });
    reply.type(res.headers.get('content-type') ?? 'application/octet-stream');
    return pipeResponse(res, reply, ['x-hearth-file-kind', 'x-hearth-file-size']);
  });

  serve(app, t, routes.uploadFile, async ({ params, project, query, req }) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > maxUpload) {
      throw new HearthError(
        'PAYLOAD_TOO_LARGE',
        `Uploading failed: ${declared} bytes exceed the ${maxUpload}-byte limit.`,
      );
    }
    if (!(req.body instanceof Readable)) {
      throw new HearthError(
        'VALIDATION_FAILED',
        'Uploading failed: send the file as the raw body with Content-Type application/octet-stream (or application/x-tar with format=tar).',
      );
    }
    const { host, vmId } = await target(params.id, project);
    const limited = byteLimit(maxUpload);
    let tooLarge: Error | null = null;
    // pipeline, not pipe: a client that aborts mid-body must end the upload to the agent too.
    const abort = new AbortController();
    pipeline(req.body, limited).catch((e: Error) => {
      tooLarge = e instanceof HearthError ? e : null;
      abort.abort(e);
    });
    try {
      const res = await agents.raw(
        host,
        'uploadFile',
        { params: { id: vmId }, query },
        {
          signal: abort.signal,
          body: Readable.toWeb(limited) as unknown as BodyInit,
          headers: {
            'content-type': String(req.headers['content-type']),
            ...(Number.isFinite(declared) ? { 'content-length': String(declared) } : {}),
          },
        },
      );
      return await readJson(res, host);
    } catch (e) {
      // The agent failed or went away: stop reading the client's body too.
      limited.destroy();
      if (tooLarge) throw tooLarge;
      throw e;
    }
  });

  serve(app, t, routes.statFile, async ({ params, project, query }) => {
    const { host, vmId: id } = await target(params.id, project);
    return agents.call(host, 'statFile', { params: { id }, query });
  });
  serve(app, t, routes.listFiles, async ({ params, project, query }) => {
    const { host, vmId: id } = await target(params.id, project);
    return agents.call(host, 'listFiles', { params: { id }, query });
  });
  serve(app, t, routes.makeDir, async ({ params, project, body }) => {
    const { host, vmId: id } = await target(params.id, project);
    return agents.call(host, 'makeDir', { params: { id }, body });
  });
  serve(app, t, routes.moveFile, async ({ params, project, body }) => {
    const { host, vmId: id } = await target(params.id, project);
    return agents.call(host, 'moveFile', { params: { id }, body });
  });
  serve(app, t, routes.removeFile, async ({ params, project, query }) => {
    const { host, vmId: id } = await target(params.id, project);
    return agents.call(host, 'removeFile', { params: { id }, query });
  });
  serve(app, t, routes.vmMetrics, async ({ params, project }) => {
    const { host, vmId: id } = await target(params.id, project);
    return agents.call(host, 'metrics', { params: { id } });
  });
  serve(app, t, routes.vmGuestInfo, async ({ params, project }) => {
    const { host, vmId: id } = await target(params.id, project);
    return agents.guestInfo(host, id);
  });
  serve(app, t, routes.listProcesses, async ({ params, project }) => {
    const { host, vmId: id } = await target(params.id, project);
    return agents.call(host, 'listProcesses', { params: { id } });
  });
  serve(app, t, routes.signalProcess, async ({ params, project, body }) => {
    const { host, vmId: id } = await target(params.id, project);
    return agents.call(host, 'signalProcess', { params: { id, processId: params.processId }, body });
  });
  serve(app, t, routes.processStdin, async ({ params, project, body }) => {
    const { host, vmId: id } = await target(params.id, project);
    return agents.call(host, 'processStdin', { params: { id, processId: params.processId }, body });
  });
  serve(app, t, routes.processOutput, async ({ params, project, query, reply }) => {
    const { host, vmId } = await target(params.id, project);
    const res = await agents.raw(
      host,
      'processOutput',
      { params: { id: vmId, processId: params.processId }, query },
      { stream: true },
    );
    reply.type('application/x-ndjson');
    return pipeResponse(res, reply, []);
  });

  app.addContentTypeParser(['application/octet-stream', 'application/x-tar'], (_req, payload, done) =>
    done(null, payload),
  );
}
