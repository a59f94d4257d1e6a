import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One entry of a hand-made tar archive, exactly as an attacker would write it. */
export interface CraftedEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink';
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  body?: string | Buffer;
}

function field(buf: Buffer, at: number, len: number, value: string): void {
  buf.write(value.slice(0, len), at, len, 'utf8');
}

function octal(buf: Buffer, at: number, len: number, n: number): void {
  field(buf, at, len, n.toString(8).padStart(len - 1, '0') + '\0');
}

const TYPE = { file: '0', hardlink: '1', symlink: '2', dir: '5' } as const;

/**
 * A ustar archive with entries in the given order and no sanitising at all (absolute names,
 * `..`, links anywhere, setuid modes, foreign owners): the input a safe extractor must survive.
 */
export function craftTar(entries: CraftedEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = e.type === 'file' ? Buffer.from(e.body ?? '') : Buffer.alloc(0);
    const h = Buffer.alloc(512);
    field(h, 0, 100, e.name);
    octal(h, 100, 8, e.mode ?? (e.type === 'dir' ? 0o755 : 0o644));
    octal(h, 108, 8, e.uid ?? 0);
    octal(h, 116, 8, e.gid ?? 0);
    octal(h, 124, 12, body.length);
    octal(h, 136, 12, 1_700_000_000);
    field(h, 148, 8, '        ');
    field(h, 156, 1, TYPE[e.type]);
    field(h, 157, 100, e.linkname ?? '');
    field(h, 257, 6, 'ustar\0');
    field(h, 263, 2, '00');
    let sum = 0;
    for (const b of h) sum += b;
    field(h, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
    parts.push(h, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/**
 * An OCI image layout at `dir` whose `img` has the given (uncompressed) layers, written blob by
 * blob as the image-spec lays them out: what a registry pull leaves behind.
 */
export async function craftOciLayout(dir: string, layers: Buffer[]): Promise<void> {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const put = async (data: Buffer | string) => {
    const buf = Buffer.from(data);
    const hex = createHash('sha256').update(buf).digest('hex');
    await writeFile(join(blobs, hex), buf);
    return { digest: `sha256:${hex}`, size: buf.length };
  };
  const layerDescs = [];
  for (const l of layers)
    layerDescs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...(await put(l)) });
  const config = await put(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: layerDescs.map((d) => d.digest) },
    }),
  );
  const manifest = await put(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: layerDescs,
    }),
  );
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          annotations: { 'org.opencontainers.image.ref.name': 'img' },
        },
      ],
    }),
  );
}
