import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { z } from 'zod';
import { HearthError, type PutRegistryCredentialBody, type RegistryCredential } from '@hearth/contract';
import type { Sealer } from '../crypto/sealed.ts';
import type { Stores } from '../store/index.ts';
import { REGISTRY_HOST, registryCredentialFromRow } from '../store/registry-credentials.ts';

/** Docker Hub's names for itself: credentials for any of them are stored (and looked up) as docker.io. */
const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** A registry host as credentials are keyed: lower-case host[:port], Docker Hub as docker.io. */
export function registryKey(host: string, what: string): string {
  const h = host.trim().toLowerCase();
  if (!REGISTRY_HOST.test(h) || h.length > 255) {
    throw new HearthError('VALIDATION_FAILED', `${what} failed: "${host}" is not a registry host.`, {
      fields: { name: ['expected a registry host[:port], e.g. ghcr.io or registry.internal:5000'] },
    });
  }
  return DOCKER_HUB.has(h) ? 'docker.io' : h;
}

/** What an import needs to log in: the user (for messages) and a file skopeo reads the password from. */
export interface RegistryLogin {
  registry: string;
  username: string;
  authFile: string;
}

/**
 * A project's private registry credentials: passwords are sealed before they reach the database
 * and opened only to write the auth file of one import, never returned or logged.
 */
export class RegistryCredentials {
  constructor(
    private readonly stores: Stores,
    private readonly sealer: Sealer,
  ) {}

  async put(
    host: string,
    body: z.infer<typeof PutRegistryCredentialBody>,
  ): Promise<z.infer<typeof RegistryCredential>> {
    const registry = registryKey(host, `Storing the credentials for "${host}"`);
    const row = await this.stores.registryCredentials.put({
      project: body.project,
      registry,
      username: body.username,
      passwordSealed: this.sealer.seal(body.password),
    });
    return registryCredentialFromRow(row);
  }

  async delete(host: string, project: string): Promise<z.infer<typeof RegistryCredential>> {
    const registry = registryKey(host, `Deleting the credentials for "${host}"`);
    return registryCredentialFromRow(await this.stores.registryCredentials.delete(project, registry));
  }

  /**
   * Runs `fn` with a login for `registry` when `project` stores one: an auth file (containers-auth.json
   * format) in a private 0700 directory, readable by the manager's user only and removed when `fn`
   * ends, so the password never appears in a tool's argv or environment. Without credentials `fn`
   * gets null.
   */
  async withLogin<T>(
    project: string,
    registry: string,
    fn: (login: RegistryLogin | null) => Promise<T>,
  ): Promise<T> {
    const key = DOCKER_HUB.has(registry.toLowerCase()) ? 'docker.io' : registry.toLowerCase();
    const row = await this.stores.registryCredentials.get(project, key);
    if (!row) return fn(null);
    const dir = await mkdtemp(join(tmpdir(), 'hearth-registry-auth-'));
    try {
      const authFile = join(dir, 'auth.json');
      const auth = Buffer.from(`${row.username}:${this.sealer.open(row.password_sealed)}`).toString('base64');
      await writeFile(authFile, JSON.stringify({ auths: { [registry]: { auth } } }), {
        mode: 0o600,
        flag: 'wx',
      });
      return await fn({ registry, username: row.username, authFile });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
