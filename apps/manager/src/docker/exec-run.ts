import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { WebSocket } from 'ws';
import type { Container, ExecEvent } from '@hearth/contract';
import type { HearthBackend } from './backend.ts';
import { enc, must } from './calls.ts';
import type { ExecRecord } from './exec-store.ts';
import { fromHearth } from './errors.ts';
import { frame, STDERR, STDOUT } from './frames.ts';
import { findImage } from './images.ts';
import { ociOf } from './translate-view.ts';

/** Where an exec's output goes and, when the client attached stdin, where its input comes from. */
export interface ExecIo {
  out: Writable;
  input: Readable | null;
}

const envRecord = (list: string[] | null | undefined): Record<string, string> =>
  Object.fromEntries(
    (list ?? [])
      .filter((kv) => kv.indexOf('=') > 0)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The shell command line a TTY exec runs with: the container's environment (image ENV, then the
 * container's, then the exec's) and working directory, then the argv, each word quoted.
 */
export function ttyCommand(argv: string[], env: Record<string, string>, cwd: string): string {
  const vars = Object.entries(env).map(([k, v]) => quote(`${k}=${v}`));
  return ['cd', quote(cwd), '&&', 'exec', 'env', ...vars, ...argv.map(quote)].join(' ');
}

function finish(rec: ExecRecord, code: number | null, io: ExecIo): void {
  rec.exitCode = code ?? 137;
  rec.running = false;
  rec.endedAt = Date.now();
  rec.resize = null;
  io.out.end();
}

/**
 * Without a TTY: Hearth's container exec, streamed (NDJSON events), as Docker's multiplexed
 * frames; stdin, when attached, goes to the process through the VM's stdin route.
 */
async function runPlain(b: HearthBackend, rec: ExecRecord, io: ExecIo): Promise<void> {
  const c = rec.config;
  const abort = new AbortController();
  io.out.on('close', () => abort.abort());
  const body = {
    command: c.Cmd ?? [],
    stream: true,
    ...(c.Env?.length ? { env: envRecord(c.Env) } : {}),
    ...(c.WorkingDir ? { cwd: c.WorkingDir } : {}),
    ...(c.User ? { user: c.User } : {}),
    ...(io.input && c.AttachStdin ? { keepStdinOpen: true } : {}),
  };
  const res = await b.stream(
    'POST',
    `/v1/containers/${enc(rec.containerId)}/exec`,
    rec.creds,
    body,
    abort.signal,
  );
  if (res.status >= 400) {
    let text = '';
    for await (const chunk of res.stream) text += String(chunk);
    const e = fromHearth(res.status, text ? JSON.parse(text) : null);
    io.out.write(frame(STDERR, `${e.message}\n`));
    return finish(rec, 126, io);
  }
  let exit: number | null = null;
  let stdin: Promise<unknown> = Promise.resolve();
  for await (const l of createInterface({ input: res.stream, crlfDelay: Infinity })) {
    if (!l.trim()) continue;
    const e = JSON.parse(l) as ExecEvent;
    if (e.type === 'started') {
      rec.pid = e.pid;
      if (io.input && c.AttachStdin) {
        const pidPath = e.processId;
        const forward = (data: Buffer | null) => {
          const path = `/v1/vms/${enc(rec.vmId)}/processes/${enc(pidPath)}/stdin`;
          const payload = data ? { data: data.toString('base64'), encoding: 'base64' } : { close: true };
          stdin = stdin.then(() => b.call('POST', path, rec.creds, payload)).catch(() => undefined);
        };
        io.input.on('data', (d: Buffer) => forward(d));
        io.input.once('end', () => forward(null));
      }
    } else if (e.type === 'stdout' || e.type === 'stderr') {
      if (e.type === 'stdout' ? c.AttachStdout !== false : c.AttachStderr !== false)
        io.out.write(frame(e.type === 'stdout' ? STDOUT : STDERR, Buffer.from(e.data, 'base64')));
    } else if (e.type === 'exit') {
      exit = e.exitCode ?? (e.signal ? 128 + 9 : null);
    } else if (e.type === 'error') {
      io.out.write(frame(STDERR, `${e.message} [${e.code}]\n`));
      exit = 126;
    }
  }
  finish(rec, exit, io);
}

/**
 * With a TTY: the VM's shell WebSocket (the guest's PTY, as `hearth ssh` uses it) running the
 * command; raw bytes both ways, resizes from POST /exec/{id}/resize, the exit code from its
 * `exit` message.
 */
async function runTty(b: HearthBackend, rec: ExecRecord, io: ExecIo, container: Container): Promise<void> {
  const img = container.imageId ? await findImage(b, rec.creds, container.imageId) : undefined;
  const oci = ociOf(img);
  const env = { ...envRecord(oci.env), ...container.env, ...envRecord(rec.config.Env), TERM: 'xterm' };
  const cwd = rec.config.WorkingDir || container.workdir || oci.workdir || '/';
  const size = rec.size ?? { h: 24, w: 80 };
  const q = new URLSearchParams({
    cols: String(size.w),
    rows: String(size.h),
    command: ttyCommand(rec.config.Cmd ?? ['sh'], env, cwd),
    ...(rec.config.User ? { user: rec.config.User } : {}),
  });
  let ws: WebSocket;
  try {
    ws = await b.websocket(`/v1/vms/${enc(rec.vmId)}/shell?${q}`, rec.creds);
  } catch (e) {
    io.out.write(`Opening a terminal in ${container.name} failed: ${(e as Error).message}\r\n`);
    return finish(rec, 126, io);
  }
  let exit: number | null = null;
  rec.resize = (h, w) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'resize', cols: w, rows: h }));
  };
  if (rec.size && (rec.size.h !== size.h || rec.size.w !== size.w)) rec.resize(rec.size.h, rec.size.w);
  io.input?.on('data', (d: Buffer) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(d, { binary: true });
  });
  io.out.on('close', () => ws.close());
  ws.on('message', (data: Buffer, binary: boolean) => {
    if (binary) {
      io.out.write(data);
      return;
    }
    const m = JSON.parse(data.toString()) as { type: string; exitCode?: number | null; message?: string };
    if (m.type === 'exit') exit = m.exitCode ?? 137;
    else if (m.type === 'error') {
      io.out.write(`\r\n${m.message ?? 'terminal error'}\r\n`);
      exit = 126;
    }
  });
  await new Promise<void>((resolve) => ws.once('close', () => resolve()));
  finish(rec, exit, io);
}

/** Runs a started exec to its end; the record carries the exit code the client asks for next. */
export async function runExec(b: HearthBackend, rec: ExecRecord, io: ExecIo): Promise<void> {
  rec.running = true;
  try {
    const c = await must<Container>(b, rec.creds, 'GET', `/v1/containers/${enc(rec.containerId)}`);
    if (rec.config.Tty) await runTty(b, rec, io, c);
    else await runPlain(b, rec, io);
  } catch (e) {
    const msg = `${(e as Error).message}\n`;
    io.out.write(rec.config.Tty ? msg : frame(STDERR, msg));
    finish(rec, 126, io);
  }
}
