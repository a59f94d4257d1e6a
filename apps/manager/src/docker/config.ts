import { join } from 'node:path';
import type { DockerApiConfig } from './server.ts';

/**
 * Where the Docker API listens: the manager config's `docker`, else HEARTH_DOCKER_SOCKET (default
 * `<data dir>/docker.sock`; '' for none), HEARTH_DOCKER_SOCKET_MODE (octal, default 0600) and
 * HEARTH_DOCKER_LISTEN (host:port, default none).
 */
export function dockerConfig(dataDir: string, given: Partial<DockerApiConfig> | undefined): DockerApiConfig {
  const env = process.env;
  const socket =
    given?.socket !== undefined
      ? given.socket
      : env.HEARTH_DOCKER_SOCKET !== undefined
        ? env.HEARTH_DOCKER_SOCKET
        : join(dataDir, 'docker.sock');
  const mode =
    given?.socketMode ?? (env.HEARTH_DOCKER_SOCKET_MODE ? parseInt(env.HEARTH_DOCKER_SOCKET_MODE, 8) : 0o600);
  return {
    socket: socket || null,
    socketMode: mode,
    listen: (given?.listen !== undefined ? given.listen : env.HEARTH_DOCKER_LISTEN) || null,
  };
}
