import { agentPath, HearthError, type ExecResult } from '@hearth/contract';
import type { PortStream } from '@hearth/contract/port-stream';
import { WebSocket } from 'ws';
import type { AgentClient, AgentTarget } from '../agent-client.ts';
import { openStream } from '../../routes/guest-http.ts';

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

/** The error a call to the shim ends with when it outlives its deadline. */
export class ShimTimeout extends Error {}

/**
 * One request to the shim: a JSON line out, a JSON line back, then the stream closes. Rejects
 * with ShimTimeout past `timeoutMs` (the stream is destroyed; the caller recycles the instance).
 */
export async function callShim<T>(
  agents: AgentClient,
  g: Guest,
  req: unknown,
  timeoutMs: number,
): Promise<T> {
  const s = await connectGuest(agents, g, SHIM_PORT);
  return new Promise<T>((resolve, reject) => {
    let buf = '';
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      fn();
    };
    const timer = setTimeout(
      () => finish(() => reject(new ShimTimeout(`no answer within ${timeoutMs} ms`))),
      timeoutMs,
    );
    s.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      finish(() => {
        try {
          resolve(JSON.parse(line) as T);
        } catch (e) {
          reject(e as Error);
        }
      });
    });
    s.on('error', (e: Error) => finish(() => reject(e)));
    s.on('close', () =>
      finish(() =>
        reject(new HearthError('FUNCTION_INSTANCE_FAILED', 'the instance closed the call without an answer')),
      ),
    );
    s.write(JSON.stringify(req) + '\n');
  });
}
