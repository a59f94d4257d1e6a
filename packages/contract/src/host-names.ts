import { createHash } from 'node:crypto';

/**
 * Names of host objects derived from ids, for the manager and the agent alike (Node only, so not
 * part of the browser-safe main entry).
 */

/** The first `length` hex digits of the id's SHA-256. */
export const idHash = (id: string, length = 10): string =>
  createHash('sha256').update(id).digest('hex').slice(0, length);

/**
 * The Linux bridge of a network: `hbr` and 10 hex digits, within the kernel's 15-character limit
 * on interface names. The manager records it when the network is created; agents build it.
 */
export const bridgeName = (networkId: string): string => `hbr${idHash(networkId)}`;
