import { open, rename, rm } from 'node:fs/promises';
import type { GuestBootConfig } from '@hearth/contract';

/**
 * The per-boot configuration disk: no filesystem, just `HEARTHC1`, the JSON document's length as
 * a big-endian uint32, the document, and zeros up to a whole number of 4 KiB blocks. The host
 * writes it from scratch before every boot and attaches it read-only; the guest agent reads it at
 * start (apps/guest/configdisk.go). Nothing the guest writes is ever read back by the host.
 */
export const CONFIG_DISK_MAGIC = 'HEARTHC1';
const HEADER_BYTES = 12;
const BLOCK = 4096;
/** The guest refuses anything larger, so the host never writes it. */
export const CONFIG_DISK_MAX_BYTES = 4 * 1024 * 1024;

export function encodeConfigDisk(config: GuestBootConfig): Buffer {
  const json = Buffer.from(JSON.stringify(config), 'utf8');
  const size = Math.ceil((HEADER_BYTES + json.length) / BLOCK) * BLOCK;
  if (size > CONFIG_DISK_MAX_BYTES) {
    throw new Error(`the guest configuration is ${json.length} bytes, over the config disk's limit`);
  }
  const out = Buffer.alloc(size);
  out.write(CONFIG_DISK_MAGIC, 0, 'latin1');
  out.writeUInt32BE(json.length, 8);
  json.copy(out, HEADER_BYTES);
  return out;
}

/** The document on a config disk image, or null when `buf` is not one. */
export function decodeConfigDisk(buf: Buffer): unknown {
  if (buf.length < HEADER_BYTES || buf.toString('latin1', 0, 8) !== CONFIG_DISK_MAGIC) return null;
  const len = buf.readUInt32BE(8);
  if (HEADER_BYTES + len > buf.length) return null;
  return JSON.parse(buf.toString('utf8', HEADER_BYTES, HEADER_BYTES + len));
}

/** Writes the config disk at `path` (root-only: it holds the guest secret), replacing any old one whole. */
export async function writeConfigDisk(path: string, config: GuestBootConfig): Promise<void> {
  const tmp = `${path}.tmp`;
  await rm(tmp, { force: true });
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(encodeConfigDisk(config));
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
