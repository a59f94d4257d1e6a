import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './proc.ts';

const run = promisify(execFile);

export interface LocalRegistry {
  /** host:port on loopback */
  host: string;
  dispose(): Promise<void>;
}

/**
 * Debian's docker-registry (a real OCI distribution registry) on a free loopback port, with its
 * storage and config in a temporary directory. Ready when /v2/ answers; early exit fails fast.
 */
export async function startRegistry(): Promise<LocalRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-registry-'));
  const port = await freePort();
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'store')}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let disposed = false;
  const dispose = async () => {
    if (disposed) return;
    disposed = true;
    child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      await dispose();
      throw new Error(`Starting docker-registry failed: it exited (${stderr.trim().slice(-500)})`);
    }
    const ok = await fetch(`http://127.0.0.1:${port}/v2/`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await dispose();
      throw new Error('Starting docker-registry failed: /v2/ did not answer within 15 s');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { host: `127.0.0.1:${port}`, dispose };
}

const APPLETS = [
  'sh',
  'cat',
  'env',
  'sleep',
  'echo',
  'id',
  'ls',
  'uname',
  'pwd',
  'mkdir',
  'ps',
  'ip',
  'ping',
];

/** The CMD of the test image: prints its environment on the console and keeps it in a file. */
export const HELLO_SCRIPT = `#!/bin/sh
echo "hello-app: GREETING=$GREETING MODE=$MODE pwd=$(pwd) uid=$(id -u) args=$*"
env > /srv/app.env
exec sleep 100000
`;

/**
 * Builds a tiny OCI image with umoci (static busybox + a script CMD, ENV, WORKDIR, exposed port)
 * and pushes it to `registry` with skopeo. Returns the reference. `script` replaces HELLO_SCRIPT as
 * the ENTRYPOINT's program.
 */
export async function pushTestImage(
  registry: string,
  repo: string,
  tag: string,
  opts: { script?: string } = {},
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-oci-build-'));
  try {
    const layout = join(dir, 'layout');
    const bundle = join(dir, 'bundle');
    const img = `${layout}:${tag}`;
    await run('umoci', ['init', '--layout', layout]);
    await run('umoci', ['new', '--image', img]);
    await run('umoci', ['unpack', '--rootless', '--image', img, bundle]);
    const root = join(bundle, 'rootfs');
    for (const d of ['bin', 'srv', 'usr/local/bin', 'etc']) await mkdir(join(root, d), { recursive: true });
    await copyFile('/bin/busybox', join(root, 'bin/busybox'));
    await chmod(join(root, 'bin/busybox'), 0o755);
    for (const a of APPLETS) await symlink('busybox', join(root, 'bin', a));
    await writeFile(join(root, 'usr/local/bin/hello.sh'), opts.script ?? HELLO_SCRIPT, { mode: 0o755 });
    await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    await run('umoci', ['repack', '--image', img, bundle]);
    await run('umoci', [
      'config',
      '--image',
      img,
      '--config.entrypoint',
      '/usr/local/bin/hello.sh',
      '--config.cmd',
      'from-cmd',
      '--config.env',
      'GREETING=hello from the image',
      '--config.env',
      'MODE=image',
      '--config.env',
      'PATH=/usr/local/bin:/bin',
      '--config.workingdir',
      '/srv',
      '--config.exposedports',
      '8080/tcp',
    ]);
    const ref = `${registry}/${repo}:${tag}`;
    await run('skopeo', [
      '--insecure-policy',
      'copy',
      '--dest-tls-verify=false',
      `oci:${img}`,
      `docker://${ref}`,
    ]);
    return ref;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
