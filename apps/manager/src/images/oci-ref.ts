/** A parsed OCI image reference, normalised the way Docker does it. */
export interface OciRef {
  registry: string;
  repository: string;
  tag: string | null;
  digest: string | null;
  /** registry/repository[:tag][@digest], with docker.io and library/ spelled out */
  canonical: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Parses `node:22-alpine`, `localhost:5000/app:tag`, `registry:5000/x@sha256:…`; null if malformed. */
export function parseOciRef(input: string): OciRef | null {
  let rest = input.trim().replace(/^docker:\/\//, '');
  if (!rest || /\s/.test(rest)) return null;
  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return null;
  }
  let tag: string | null = null;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return null;
  }
  const parts = rest.split('/');
  let registry = 'docker.io';
  // The first component is a registry when it looks like a host: a dot, a port, or localhost.
  if (parts.length > 1 && /[.:]|^localhost$/.test(parts[0]!)) registry = parts.shift()!;
  // host[:port] or [ipv6][:port], with a port a registry can listen on.
  const host = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(registry);
  if (!host || (host[2] !== undefined && (Number(host[2]) < 1 || Number(host[2]) > 65535))) return null;
  if (registry === 'docker.io' && parts.length === 1) parts.unshift('library');
  if (!parts.length || !parts.every((p) => COMPONENT.test(p))) return null;
  if (!tag && !digest) tag = 'latest';
  const repository = parts.join('/');
  const canonical = `${registry}/${repository}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
  return { registry, repository, tag, digest, canonical };
}

/** Registries on this machine speak plain HTTP in tests and development; elsewhere TLS is required. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** A default image name from a reference: `oci-node-22-alpine`, `oci-app-v1`. */
export function nameFromRef(ref: OciRef): string {
  const last = ref.repository.split('/').pop()!;
  const suffix = ref.tag ?? ref.digest!.slice(7, 19);
  return `oci-${last}-${suffix}`
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/[-.]+$/, '')
    .slice(0, 120);
}
