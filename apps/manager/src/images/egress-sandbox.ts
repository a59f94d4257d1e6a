import { execFile } from 'node:child_process';
import ipaddr from 'ipaddr.js';
import type { Logger } from 'pino';
import { checkDestination, type ImportAllowList } from './egress-guard.ts';
import type { EgressProxy } from './egress-proxy.ts';

/**
 * Runs inside the tool's network namespace (which has only `lo`), as `node -e`: brings `lo` up,
 * listens on 127.0.0.1:<free port> and relays each connection to the manager's proxy over its
 * unix socket (unix sockets are not network-namespaced), then runs the tool with
 * HTTP(S)_PROXY pointing there. Go never proxies `localhost` or loopback literals, so the
 * registry's own loopback address (when the reference names one) is listened on too and tunnelled
 * with a CONNECT the proxy checks like any other. Anything else is unreachable in here.
 * argv: <proxy socket> <mirrors JSON [[listen address, port, "host:port"]]> <tool> <args…>
 */
const RUNNER = String.raw`
const net = require('node:net');
const { pipeline } = require('node:stream');
const { spawn, execFileSync } = require('node:child_process');
const [sock, mirrorsJson, bin, ...args] = process.argv.slice(1);
execFileSync('ip', ['link', 'set', 'lo', 'up']);
// Each direction ends after what is buffered for it was written (sockets are half-open, so one
// side ending does not close the other early); a failure ends both.
const pair = (a, b) => {
  const end = () => (a.destroy(), b.destroy());
  pipeline(a, b, (e) => e && end());
  pipeline(b, a, (e) => e && end());
};
const toProxy = () => net.connect({ path: sock, allowHalfOpen: true });
const relay = (c) => pair(c, toProxy());
const tunnel = (target) => (c) => {
  const u = toProxy();
  u.write('CONNECT ' + target + ' HTTP/1.1\r\nHost: ' + target + '\r\n\r\n');
  let buf = Buffer.alloc(0);
  const onData = (d) => {
    buf = Buffer.concat([buf, d]);
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    u.off('data', onData);
    if (!/^HTTP\/1\.[01] 200/.test(buf.toString('latin1', 0, end))) return void (c.destroy(), u.destroy());
    if (buf.length > end + 4) c.write(buf.subarray(end + 4));
    pair(c, u);
  };
  u.on('data', onData);
  u.on('error', () => c.destroy());
  c.on('error', () => u.destroy());
};
const listen = (handler, port, host) =>
  new Promise((resolve) => {
    const srv = net.createServer({ allowHalfOpen: true }, handler);
    srv.once('error', () => resolve(null));
    srv.listen(port, host, () => resolve(srv.address().port));
  });
(async () => {
  const port = await listen(relay, 0, '127.0.0.1');
  for (const [host, p, target] of JSON.parse(mirrorsJson)) await listen(tunnel(target), p, host);
  const proxy = 'http://127.0.0.1:' + port;
  const env = { ...process.env, HTTP_PROXY: proxy, HTTPS_PROXY: proxy, http_proxy: proxy, https_proxy: proxy };
  for (const k of ['NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']) delete env[k];
  const child = spawn(bin, args, { stdio: 'inherit', env });
  child.on('error', (e) => (process.stderr.write(String(e.message) + '\n'), process.exit(127)));
  child.on('exit', (code, signal) => process.exit(code ?? 128));
})();
`;

/** What to spawn for a tool whose every connection goes through `proxy`. */
export interface GuardedCommand {
  bin: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** The tool runs in its own network namespace (only the proxy reachable). */
  netns: boolean;
}

const run = (bin: string, args: string[]) =>
  new Promise<boolean>((resolve) => execFile(bin, args, (err) => resolve(!err)));

let namespaceProbe: Promise<string[] | null> | undefined;

/** unshare flags giving a fresh network and pid namespace, or null where this host allows none. */
function namespaceFlags(): Promise<string[] | null> {
  namespaceProbe ??= (async () => {
    // --pid --kill-child: killing unshare (a timeout) kills the namespace's every process.
    const base = ['--net', '--pid', '--fork', '--kill-child'];
    const candidates = process.getuid?.() === 0 ? [base] : [base, ['--map-root-user', ...base]];
    for (const flags of candidates) {
      if (await run('unshare', [...flags, 'ip', 'link', 'set', 'lo', 'up'])) return flags;
    }
    return null;
  })();
  return namespaceProbe;
}

let warned = false;

/** The registry host of a reference, listened on inside the namespace when Go dials it directly. */
function mirrorsFor(registry: string): [string, number, string][] {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(registry);
  if (!m) return [];
  const host = m[1]!.replace(/^\[|\]$/g, '');
  const port = Number(m[2] ?? 443);
  const target = `${m[1]}:${port}`;
  if (host.toLowerCase() === 'localhost') {
    return [
      ['127.0.0.1', port, target],
      ['::1', port, target],
    ];
  }
  if (!ipaddr.isValid(host)) return [];
  const a = ipaddr.process(host);
  return a.range() === 'loopback' ? [[a.toString(), port, target]] : [];
}

/**
 * Wraps `bin args` so that it reaches only `proxy`: in a fresh network namespace where the
 * runner relays to the proxy's unix socket, or — where namespaces are unavailable (an
 * unprivileged manager without user namespaces) — with the proxy's TCP port in HTTP(S)_PROXY
 * alone, which leaves loopback literals unguarded (Go dials those directly); that is logged once.
 */
export async function guardedCommand(
  proxy: EgressProxy,
  registry: string,
  bin: string,
  args: string[],
  log?: Logger,
): Promise<GuardedCommand> {
  const flags = await namespaceFlags();
  if (flags) {
    return {
      bin: 'unshare',
      args: [
        ...flags,
        process.execPath,
        '-e',
        RUNNER,
        proxy.socketPath,
        JSON.stringify(mirrorsFor(registry)),
        bin,
        ...args,
      ],
      env: process.env,
      netns: true,
    };
  }
  if (!warned) {
    warned = true;
    log?.warn(
      'network namespaces are unavailable: registry pulls go through the import proxy, but redirects to loopback literals are not checked',
    );
  }
  if (proxy.tcpPort === null) throw new Error('the egress proxy has no TCP port for an unsandboxed tool');
  const url = `http://127.0.0.1:${proxy.tcpPort}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    http_proxy: url,
    https_proxy: url,
  };
  for (const k of ['NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']) delete env[k];
  return { bin, args, env, netns: false };
}

/** Whether this host can run a tool in its own network namespace (probed once). */
export async function namespacesAvailable(): Promise<boolean> {
  return (await namespaceFlags()) !== null;
}

/**
 * In the namespace a direct dial happens only where Go bypasses the proxy (loopback literals,
 * `localhost`) and reaches nothing; one the guard refuses becomes that refusal.
 */
export function refusedDirectDial(allow: ImportAllowList, what: string, stderr: string): void {
  for (const m of stderr.matchAll(/dial tcp (\[[^\]]+\]|\d{1,3}(?:\.\d{1,3}){3}):(\d+)/g)) {
    const address = m[1]!.replace(/^\[|\]$/g, '');
    if (ipaddr.isValid(address)) checkDestination(allow, what, address, Number(m[2]), [address]);
  }
}
