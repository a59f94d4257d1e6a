import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { lstat, mkdir, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { HearthError, type ImportEvent } from '@hearth/contract';
import { buildExt4 } from './ext4.ts';
import type { ImportAllowList } from './egress-guard.ts';
import { EgressProxy } from './egress-proxy.ts';
import { guardedCommand, namespacesAvailable, refusedDirectDial } from './egress-sandbox.ts';
import type { OciRef } from './oci-ref.ts';
import type { RegistryLogin } from './registry-auth.ts';

type Progress = (e: Extract<ImportEvent, { type: 'progress' }>) => void;

/** What Hearth keeps of an OCI image config (and honours at boot). */
export interface OciMeta {
  ref: string;
  digest: string;
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workdir: string;
  user: string;
  exposedPorts: string[];
}

export interface OciOptions {
  /** Plain HTTP / unverified TLS (loopback registries, or ones the operator listed). */
  insecure: boolean;
  onProgress: Progress;
  timeoutMs?: number;
  /** Every connection skopeo makes goes through the import address guard (see egress-proxy.ts). */
  egress?: { allow: ImportAllowList; what: string; log?: Logger };
  /** The project's credentials for the registry: an auth file skopeo reads (never argv). */
  login?: RegistryLogin | null;
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a tool (argv array), streaming stdout lines to `onLine`; never throws for a non-zero exit. */
function runTool(
  bin: string,
  args: string[],
  timeoutMs: number,
  onLine?: (l: string) => void,
  env?: NodeJS.ProcessEnv,
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!onLine) return;
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) onLine(l.trim());
    });
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-16384)));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new HearthError('IMAGE_IMPORT_FAILED', `Running ${bin} failed: ${e.message}.`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') stderr += `\n${bin} timed out after ${timeoutMs / 1000} s`;
      resolve({ code, stdout, stderr: stderr.trim() });
    });
  });
}

/** The registry refused the request for want of (valid) credentials: HTTP 401/403 or its words for it. */
const REFUSED =
  /unauthorized|authentication required|invalid username\/password|denied|forbidden|\b(status ?code:? |HTTP status: )40[13]\b/i;

/**
 * Maps a registry tool's failure to the catalogue: refused (credentials), not found, unreachable,
 * or failed. `login` says which credentials were sent (none: null).
 */
export function registryError(
  action: string,
  ref: string,
  stderr: string,
  login: { registry: string; username: string } | null = null,
): HearthError {
  const last = stderr.split('\n').filter(Boolean).pop() ?? 'no output';
  const detail = { stderr: stderr.slice(-4000) };
  if (REFUSED.test(stderr)) {
    const registry = login?.registry ?? ref.split('/')[0]!;
    const why = login
      ? `the registry refused the stored credentials of user "${login.username}" for ${registry}`
      : `the registry refused access: the repository may not exist, or it needs credentials and this project stores none for ${registry}`;
    return new HearthError('REGISTRY_AUTH_FAILED', `${action} failed: ${why} (${last}).`, {
      detail: { ...detail, registry },
    });
  }
  if (/manifest unknown|name unknown|not found|MANIFEST_UNKNOWN|NAME_UNKNOWN/i.test(stderr)) {
    return new HearthError(
      'IMAGE_SOURCE_NOT_FOUND',
      `${action} failed: the registry has no image "${ref}" (${last}).`,
      { detail },
    );
  }
  if (
    /connection refused|no such host|i\/o timeout|network is unreachable|timed out|dial tcp|server gave HTTP response|tls:|no route to host|connection reset/i.test(
      stderr,
    )
  ) {
    return new HearthError(
      'IMAGE_SOURCE_UNREACHABLE',
      `${action} failed: the registry for "${ref}" could not be reached (${last}).`,
      { detail },
    );
  }
  return new HearthError('IMAGE_IMPORT_FAILED', `${action} failed: ${last}.`, { detail });
}

/**
 * Runs skopeo with every connection (the registry, its DNS, each redirect) through the import
 * address guard: a refused destination fails the run with IMAGE_SOURCE_ADDRESS_REFUSED naming it.
 */
async function runSkopeo(
  ref: OciRef,
  args: string[],
  timeoutMs: number,
  opts: OciOptions,
  onLine?: (l: string) => void,
): Promise<Ran> {
  if (!opts.egress) return runTool('skopeo', args, timeoutMs, onLine);
  const { allow, what, log } = opts.egress;
  const proxy = await EgressProxy.start(allow, what, { tcp: !(await namespacesAvailable()) });
  try {
    const cmd = await guardedCommand(proxy, ref.registry, 'skopeo', args, log);
    const r = await runTool(cmd.bin, cmd.args, timeoutMs, onLine, cmd.env);
    if (r.code === 0) return r;
    if (proxy.refusal) throw proxy.refusal;
    if (cmd.netns) refusedDirectDial(allow, what, r.stderr);
    return { ...r, stderr: [r.stderr, ...proxy.failures].filter(Boolean).join('\n') };
  } finally {
    await proxy.dispose();
  }
}

/** skopeo reads the login from a file, so the password is in no process's argv or environment. */
function authFlags(opts: OciOptions): string[] {
  return opts.login ? ['--authfile', opts.login.authFile] : [];
}

async function globalFlags(): Promise<string[]> {
  // Respect the host's signature policy when it has one; a bare host has none to respect.
  const policy = await stat('/etc/containers/policy.json').catch(() => null);
  return policy ? [] : ['--insecure-policy'];
}

/** The manifest digest a reference points at now: the cache key of an import. */
export async function resolveDigest(ref: OciRef, opts: OciOptions): Promise<string> {
  if (ref.digest) return ref.digest;
  opts.onProgress({ type: 'progress', phase: 'resolve', message: `resolving ${ref.canonical}` });
  const r = await runSkopeo(
    ref,
    [
      ...(await globalFlags()),
      'inspect',
      '--raw',
      ...authFlags(opts),
      `--tls-verify=${!opts.insecure}`,
      '--retry-times',
      '0',
      `docker://${ref.canonical}`,
    ],
    opts.timeoutMs ?? 60_000,
    opts,
  );
  if (r.code !== 0) {
    throw registryError(`Resolving ${ref.canonical}`, ref.canonical, r.stderr, opts.login ?? null);
  }
  return `sha256:${createHash('sha256').update(r.stdout).digest('hex')}`;
}

/** Pulls into an OCI layout, unpacks it and builds `<work>/rootfs.ext4`. Returns the kept config. */
export async function pullAndBuild(
  ref: OciRef,
  digest: string,
  work: string,
  opts: OciOptions,
): Promise<{ ext4: string; oci: OciMeta }> {
  const layout = join(work, 'layout');
  const bundle = join(work, 'bundle');
  const timeout = opts.timeoutMs ?? 30 * 60_000;
  const source = `docker://${ref.registry}/${ref.repository}@${digest}`;
  await mkdir(work, { recursive: true });
  opts.onProgress({ type: 'progress', phase: 'pull', message: `pulling ${ref.canonical} (${digest})` });
  const pulled = await runSkopeo(
    ref,
    [
      ...(await globalFlags()),
      '--override-os',
      'linux',
      '--override-arch',
      'amd64',
      'copy',
      ...authFlags(opts),
      `--src-tls-verify=${!opts.insecure}`,
      source,
      `oci:${layout}:img`,
    ],
    timeout,
    opts,
    (line) => opts.onProgress({ type: 'progress', phase: 'pull', message: line }),
  );
  if (pulled.code !== 0) {
    throw registryError(`Pulling ${ref.canonical}`, ref.canonical, pulled.stderr, opts.login ?? null);
  }

  const config = await readLayoutConfig(layout);
  if (config.architecture && config.architecture !== 'amd64') {
    throw new HearthError(
      'IMAGE_FORMAT_INVALID',
      `Importing ${ref.canonical} failed: it is built for ${config.architecture}, not amd64.`,
    );
  }
  opts.onProgress({ type: 'progress', phase: 'unpack', message: 'unpacking layers (umoci)' });
  const rootfs = await unpackLayout(layout, bundle, ref.canonical, timeout);
  opts.onProgress({ type: 'progress', phase: 'build', message: 'building ext4 (mke2fs -d)' });
  const ext4 = join(work, 'rootfs.ext4');
  try {
    await buildExt4(rootfs, ext4);
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new HearthError(
      'IMAGE_IMPORT_FAILED',
      `Building the ext4 image of ${ref.canonical} failed: ${err.stderr?.trim() || err.message}.`,
    );
  }
  const c = config.config ?? {};
  return {
    ext4,
    oci: {
      ref: ref.canonical,
      digest,
      entrypoint: c.Entrypoint ?? [],
      cmd: c.Cmd ?? [],
      env: c.Env ?? [],
      workdir: c.WorkingDir || '/',
      user: c.User ?? '',
      exposedPorts: Object.keys(c.ExposedPorts ?? {}),
    },
  };
}

/**
 * Unpacks the layout's `img` into `<bundle>/rootfs` (umoci resolves every entry, link target and
 * whiteout inside the rootfs) and adds what a VM root needs. Returns the rootfs path.
 */
export async function unpackLayout(
  layout: string,
  bundle: string,
  name: string,
  timeout: number,
): Promise<string> {
  // --rootless needs no privileges; as root a plain unpack keeps the files' owners (USER images).
  const rootless = process.getuid?.() !== 0;
  const unpacked = await runTool(
    'umoci',
    ['unpack', ...(rootless ? ['--rootless'] : []), '--image', `${layout}:img`, bundle],
    timeout,
  );
  if (unpacked.code !== 0) {
    throw new HearthError('IMAGE_IMPORT_FAILED', `Unpacking ${name} failed: ${unpacked.stderr}.`, {
      detail: { stderr: unpacked.stderr.slice(-4000) },
    });
  }
  const rootfs = join(bundle, 'rootfs');
  await prepareRootfs(rootfs);
  return rootfs;
}

interface ImageConfig {
  architecture?: string;
  config?: {
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Env?: string[] | null;
    WorkingDir?: string;
    User?: string;
    ExposedPorts?: Record<string, unknown> | null;
  };
}

/** index.json → manifest → config blob, as the OCI image layout spec lays them out. */
async function readLayoutConfig(layout: string): Promise<ImageConfig> {
  const blob = async (digest: string) =>
    JSON.parse(await readFile(join(layout, 'blobs', ...digest.split(':')), 'utf8')) as Record<
      string,
      unknown
    >;
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  const entry =
    index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'img') ??
    index.manifests[0];
  if (!entry) throw new HearthError('IMAGE_IMPORT_FAILED', 'Reading the pulled image failed: no manifest.');
  const manifest = (await blob(entry.digest)) as { config: { digest: string } };
  return (await blob(manifest.config.digest)) as ImageConfig;
}

/**
 * Makes `rel` a directory inside `root`, creating what is missing, but never through a path the
 * image controls: when a component exists as a symlink (`etc -> /`) or a file, nothing is made
 * and false is returned — the host's own directories stay out of reach.
 */
async function mkdirInside(root: string, rel: string): Promise<boolean> {
  let at = root;
  for (const part of rel.split('/')) {
    at = join(at, part);
    const s = await lstat(at).catch(() => null);
    if (!s) await mkdir(at, { mode: 0o755 });
    else if (!s.isDirectory()) return false;
  }
  return true;
}

/** Creates a new file inside `root` (never following a symlink, never replacing a file). */
async function createInside(root: string, rel: string, text: string): Promise<void> {
  const dir = rel.split('/').slice(0, -1).join('/');
  if (dir && !(await mkdirInside(root, dir))) return;
  const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW;
  const fh = await open(join(root, rel), flags, 0o644).catch(() => null);
  if (!fh) return;
  try {
    await fh.writeFile(text);
  } finally {
    await fh.close();
  }
}

/**
 * What a container image lacks but a VM root needs: mount points, and a root user for exec. The
 * tree is the image's: every step checks each path component instead of following its symlinks.
 */
async function prepareRootfs(root: string): Promise<void> {
  for (const d of ['proc', 'sys', 'dev', 'run', 'tmp', 'etc/hearth', 'usr/sbin', 'root']) {
    await mkdirInside(root, d);
  }
  const etc = await lstat(join(root, 'etc')).catch(() => null);
  if (!etc?.isDirectory()) return;
  if (!(await lstat(join(root, 'etc/passwd')).catch(() => null))) {
    await createInside(root, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
    await createInside(root, 'etc/group', 'root:x:0:\n');
  }
}
