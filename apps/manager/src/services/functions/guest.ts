import { agentPath, type ExecResult } from '@hearth/contract';
import type { PortStream } from '@hearth/contract/port-stream';
import { Readable } from 'node:stream';
import { WebSocket } from 'ws';
import type { AgentClient, AgentTarget } from '../agent-client.ts';
import { openStream } from '../../routes/guest-http.ts';
import { ShimClient } from './shim-client.ts';

/** The guest port each function's shim listens on (127.0.0.1 in the guest). */
export const SHIM_PORT = 9071;

/** Where a function lives in its guest: the code, and the shim beside it. */
export const TASK_DIR = '/var/task';
export const SHIM_DIR = '/opt/hearth-fn';

export interface Guest {
  host: AgentTarget;
  vmId: string;
}

/** A command in the guest through its agent, waited for (argv, never a shell line built from input). */
export async function guestExec(
  agents: AgentClient,
  g: Guest,
  command: string[],
  opts: { stdin?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<ExecResult> {
  return agents.call(g.host, 'exec', {
    params: { id: g.vmId },
    body: {
      command,
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.stdin !== undefined ? { stdin: opts.stdin, stdinEncoding: 'base64' as const } : {}),
      timeoutMs: opts.timeoutMs ?? 60_000,
      stream: false,
      encoding: 'utf8',
      keepStdinOpen: false,
    },
  }) as Promise<ExecResult>;
}

/** Writes one file in the guest (its folder made first); content as given, any bytes. */
export async function writeGuestFile(agents: AgentClient, g: Guest, path: string, content: string) {
  const r = await guestExec(agents, g, ['sh', '-c', 'mkdir -p "$(dirname "$1")" && cat > "$1"', 'sh', path], {
    stdin: Buffer.from(content).toString('base64'),
  });
  if (r.exitCode !== 0) throw new Error(`writing ${path} in the guest failed: ${r.stderr.trim()}`);
}

/** Unpacks a tar stream into a guest folder (made if missing) through the agent's file route. */
export async function uploadFolder(agents: AgentClient, g: Guest, dir: string, tarStream: Readable) {
  const mk = await guestExec(agents, g, ['mkdir', '-p', dir]);
  if (mk.exitCode !== 0) throw new Error(`making ${dir} in the guest failed: ${mk.stderr.trim()}`);
  const res = await agents.raw(
    g.host,
    'uploadFile',
    { params: { id: g.vmId }, query: { path: dir, format: 'tar' } },
    {
      body: Readable.toWeb(tarStream) as unknown as BodyInit,
      headers: { 'content-type': 'application/x-tar' },
    },
  );
  await res.arrayBuffer();
}

/** Opens a TCP stream to a guest port through the VM's host agent (the port-stream route). */
export async function connectGuest(agents: AgentClient, g: Guest, port: number): Promise<PortStream> {
  const url = `${g.host.url.replace(/^http/, 'ws')}${agentPath('portStream', { params: { id: g.vmId, port }, query: {} })}`;
  const ws = new WebSocket(url, {
    headers: { authorization: `Bearer ${g.host.callback_token}` },
    ...(url.startsWith('wss:') ? agents.tlsFor(g.host as AgentTarget & { tls_pins: string[] | null }) : {}),
  });
  try {
    return await openStream(ws);
  } catch (e) {
    ws.terminate();
    throw e;
  }
}

/**
 * The manager's end of a guest's shim: one stream through the VM's agent, reopened when it breaks.
 * `current` gives the guest as it is when a stream opens (its agent may have restarted elsewhere).
 */
export function shimClient(
  agents: AgentClient,
  g: Guest,
  current: () => Promise<Guest> = () => Promise.resolve(g),
): ShimClient {
  return new ShimClient(async () => connectGuest(agents, await current(), SHIM_PORT));
}
