import type { ErrorEnvelope } from '@hearth/contract';

/** An error in the Docker Engine API's shape: an HTTP status and `{"message": "…"}`. */
export class DockerError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const AUTH_HINT =
  'Hearth needs an API token on its Docker API: run `eval "$(hearth docker env)"`, which writes a DOCKER_CONFIG whose HttpHeaders carry `Authorization: Bearer <token>` (see docs/docker.md).';

export const notSupported = (what: string) =>
  new DockerError(404, `${what} is not supported by Hearth's Docker API (see docs/docker.md).`);

/** What a subject is called in Docker's own not-found messages. */
export type Subject = { kind: 'container' | 'image' | 'exec instance'; ref: string };

/**
 * A Hearth answer that is not a success becomes the Docker error the client expects: its own
 * wording for the not-founds the CLI reacts to ("No such image" makes `docker run` pull), the
 * catalogue's message and hint otherwise, with the same status.
 */
export function fromHearth(status: number, body: unknown, subject?: Subject): DockerError {
  const e = (body as Partial<ErrorEnvelope> | null)?.error;
  if (!e) return new DockerError(status >= 400 ? status : 500, `Hearth answered ${status}.`);
  if (status === 401) return new DockerError(401, `${e.message} ${AUTH_HINT}`);
  if (subject && status === 404 && /_NOT_FOUND$/.test(e.code) && e.code !== 'ROUTE_NOT_FOUND') {
    if (subject.kind === 'container' && e.code === 'CONTAINER_NOT_FOUND')
      return new DockerError(404, `No such container: ${subject.ref}`);
    if (subject.kind === 'image' && e.code === 'IMAGE_NOT_FOUND')
      return new DockerError(404, `No such image: ${subject.ref}`);
  }
  const fields = e.fields
    ? ` (${Object.entries(e.fields)
        .map(([k, v]) => `${k}: ${v.join(', ')}`)
        .join('; ')})`
    : '';
  return new DockerError(status, `${e.message}${fields} [${e.code}] ${e.hint}`.trim());
}
