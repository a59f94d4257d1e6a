// Hearth's function shim for Node.js, run in the guest: `check` loads the handler and exits (its
// error on stdout as JSON), `serve` loads it and answers invocations on 127.0.0.1:PORT, JSON lines
// multiplexed by id on long-lived connections. Output is captured per invocation by async context.
import net from 'node:net';
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { AsyncLocalStorage } from 'node:async_hooks';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const [mode, taskDir, handlerSpec, port] = process.argv.slice(2);
const dot = handlerSpec.lastIndexOf('.');
const moduleName = handlerSpec.slice(0, dot);
const exportName = handlerSpec.slice(dot + 1);
const als = new AsyncLocalStorage();
const MAX_LOG = 64 * 1024;
const CUT = '\n[hearth: output past 64 KiB dropped]\n';

function errorOf(e) {
  const err = e instanceof Error ? e : new Error(String(e));
  const stack = String(err.stack || '').split('\n');
  // A SyntaxError's message has no place; its stack starts with file:line.
  const where = err instanceof SyntaxError && /^(file:\/\/)?\/.*:\d+$/.test(stack[0]) ? ` (${stack[0]})` : '';
  return {
    type: err.name || 'Error',
    message: err.message + where,
    stack,
  };
}

// An invocation's output is kept up to MAX_LOG, then the marker; the rest is dropped, also from the
// guest's own log file (a handler printing without end must not fill the guest's disk or the
// manager's memory).
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream);
  stream.write = (chunk, ...rest) => {
    const store = als.getStore();
    if (!store) return write(chunk, ...rest);
    const done = rest.find((a) => typeof a === 'function');
    if (store.cut) {
      if (done) process.nextTick(done);
      return true;
    }
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const room = MAX_LOG - store.logs.length;
    if (text.length <= room) {
      store.logs += text;
      return write(chunk, ...rest);
    }
    store.cut = true;
    const kept = text.slice(0, room) + CUT;
    store.logs += kept;
    return write(kept, done);
  };
}

async function load() {
  const file = path.join(taskDir, moduleName + '.js');
  const mod = await import(pathToFileURL(file).href);
  const fn = mod[exportName] ?? (mod.default && mod.default[exportName]);
  if (typeof fn !== 'function') {
    const e = new Error(
      `${file} has no exported function "${exportName}" (exports: ${Object.keys(mod).join(', ') || 'none'})`,
    );
    e.name = 'HandlerNotFound';
    throw e;
  }
  return fn;
}

class NotSerializable extends Error {}

/** The return value as JSON would carry it; one JSON cannot (a BigInt, a cycle) is the caller's error. */
function serialized(result) {
  let json;
  try {
    json = JSON.stringify(result === undefined ? null : result);
  } catch (e) {
    const err = new NotSerializable();
    err.error = {
      type: 'ResultNotSerializable',
      message: `The handler's return value is not JSON-serializable: ${e.message}`,
      stack: [],
    };
    throw err;
  }
  return json === undefined ? null : JSON.parse(json);
}

async function invoke(fn, req) {
  const store = { logs: '', cut: false };
  const t0 = process.hrtime.bigint();
  const deadline = Date.now() + req.timeoutMs;
  const context = {
    awsRequestId: req.requestId,
    requestId: req.requestId,
    functionName: req.functionName,
    functionVersion: String(req.version),
    memoryLimitInMB: req.memoryMib,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  const out = await als.run(store, async () => {
    try {
      const result = await fn(req.event, context);
      return { ok: true, result: serialized(result) };
    } catch (e) {
      return { ok: false, error: e instanceof NotSerializable ? e.error : errorOf(e) };
    }
  });
  out.ms = Number(process.hrtime.bigint() - t0) / 1e6;
  out.logs = store.logs;
  return out;
}

async function main() {
  let fn;
  try {
    fn = await load();
  } catch (e) {
    process.stdout.write(JSON.stringify({ ok: false, error: errorOf(e) }) + '\n');
    process.exit(1);
  }
  if (mode === 'check') {
    process.stdout.write(JSON.stringify({ ok: true }) + '\n');
    return;
  }
  // One connection carries any number of requests, each a JSON line with an `id` the answer
  // echoes; they run concurrently (the manager bounds them by the function's concurrency) and
  // answer in the order they finish. The client's end of data ends the connection once every
  // answer is out.
  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    let buf = '';
    let running = 0;
    let ended = false;
    sock.setNoDelay(true);
    sock.setEncoding('utf8');
    const answer = async (line) => {
      let req;
      try {
        req = JSON.parse(line);
      } catch {
        sock.destroy();
        return;
      }
      running++;
      const out = req.op === 'ping' ? { ok: true } : await invoke(fn, req);
      running--;
      if (req.id !== undefined) out.id = req.id;
      if (!sock.destroyed) sock.write(JSON.stringify(out) + '\n');
      if (ended && running === 0) sock.end();
    };
    sock.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        answer(line);
      }
    });
    sock.on('end', () => {
      ended = true;
      if (running === 0) sock.end();
    });
    sock.on('error', () => {});
  });
  server.listen(Number(port), '127.0.0.1');
}

main();
