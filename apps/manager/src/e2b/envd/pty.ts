import { WebSocket } from 'ws';
import { agentPath, type GuestProcess } from '@hearth/contract';
import type { AgentClient, AgentTarget } from '../../services/agent-client.ts';
import { EnvdError } from './context.ts';
import type { ProcessRun } from './process-runs.ts';

/** How long the guest has to list the PTY process it started. */
const FIND_PID_MS = 15_000;

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A shell command line running argv in cwd with envs (the shell route takes one string). */
export function ptyCommand(argv: string[], envs: Record<string, string>, cwd?: string): string {
  const env = Object.entries(envs).map(([k, v]) => quote(`${k}=${v}`));
  const run = `exec ${env.length ? `env ${env.join(' ')} ` : ''}${argv.map(quote).join(' ')}`;
  return cwd ? `cd ${quote(cwd)} && ${run}` : run;
}

async function ptyProcesses(agents: AgentClient, host: AgentTarget, vmId: string): Promise<GuestProcess[]> {
  const list = (await agents.call(host, 'listProcesses', { params: { id: vmId } })) as {
    items: GuestProcess[];
  };
  return list.items.filter((p) => p.pty && p.running && p.tag === 'shell');
}

/**
 * A PTY process through the agent's terminal WebSocket (the guest's exec with a PTY): output
 * arrives as binary frames, keystrokes go back as binary frames and resizes as JSON. The socket
 * does not say the pid: the new PTY process in the guest's process list is it.
 */
export async function startPty(
  run: ProcessRun,
  o: {
    agents: AgentClient;
    host: AgentTarget;
    vmId: string;
    argv: string[];
    envs: Record<string, string>;
    cwd?: string;
    user?: string;
    cols: number;
    rows: number;
  },
): Promise<void> {
  const before = new Set((await ptyProcesses(o.agents, o.host, o.vmId)).map((p) => p.processId));
  const path = agentPath('shell', {
    params: { id: o.vmId },
    query: {
      cols: o.cols,
      rows: o.rows,
      command: ptyCommand(o.argv, o.envs, o.cwd),
      ...(o.user ? { user: o.user } : {}),
    },
  } as never);
  const url = `${o.host.url.replace(/^http/, 'ws')}${path}`;
  const ws = new WebSocket(url, {
    headers: { authorization: `Bearer ${o.host.callback_token}` },
    ...(url.startsWith('wss:') ? o.agents.tlsFor({ id: o.host.id, tls_pins: o.host.tls_pins }) : {}),
  });
  const fail = (error: string) => run.push({ end: { exitCode: -1, exited: false, status: 'error', error } });
  ws.on('message', (data: Buffer, binary: boolean) => {
    if (binary) return run.push({ data: { pty: data.toString('base64') } });
    const msg = JSON.parse(data.toString('utf8')) as {
      type: string;
      exitCode?: number | null;
      signal?: string | null;
      message?: string;
    };
    if (msg.type === 'exit') {
      const code = msg.exitCode ?? -1;
      const status = msg.signal ? `signal: ${msg.signal}` : `exit status ${code}`;
      run.push({
        end: { exitCode: code, exited: !msg.signal, status, ...(code !== 0 ? { error: status } : {}) },
      });
    } else if (msg.type === 'error') fail(msg.message ?? 'the terminal failed');
  });
  ws.on('close', () => fail('the terminal closed'));
  ws.on('error', (e) => fail(e.message));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', (e) =>
      reject(new EnvdError('unavailable', `opening the terminal failed: ${e.message}`)),
    );
  });
  run.terminal = {
    input: (b) => ws.readyState === WebSocket.OPEN && ws.send(b, { binary: true }),
    resize: (cols, rows) =>
      ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify({ type: 'resize', cols, rows })),
  };
  run.listen((ev) => {
    if ('end' in ev) ws.close();
  });
  const deadline = Date.now() + FIND_PID_MS;
  while (!run.ended) {
    const found = (await ptyProcesses(o.agents, o.host, o.vmId)).find((p) => !before.has(p.processId));
    if (found) return run.begin(found.pid, found.processId);
    if (Date.now() > deadline) {
      ws.close();
      throw new EnvdError('internal', 'the guest did not list the PTY process it started');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
