import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { CreateContainerBody } from '@hearth/contract';
import { UsageError } from '../usage-error.ts';
import { parseEnvFile } from '../docker-flags.ts';
import { interpolateTree } from './interpolate.ts';
import { ComposeFile, describeIssues, type DependsCondition } from './schema.ts';
import { serviceBody } from './service.ts';

export interface PlannedService {
  name: string;
  dependsOn: { service: string; condition: DependsCondition }[];
  body: CreateContainerBody;
}

export interface ComposeProject {
  name: string;
  file: string;
  /** Services in start order: each after the ones it depends on. */
  services: PlannedService[];
  volumes: { key: string; name: string; external: boolean }[];
  networks: { key: string; name: string; external: boolean }[];
  warnings: string[];
}

const DEFAULT_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export function findComposeFile(file: string | undefined, cwd: string): string {
  if (file) return resolve(cwd, file);
  const found = DEFAULT_FILES.map((f) => resolve(cwd, f)).find((f) => existsSync(f));
  if (!found)
    throw new UsageError(`No compose file here: looked for ${DEFAULT_FILES.join(', ')} (or pass -f FILE).`);
  return found;
}

/** A Compose project name as Hearth names allow: lowercase letters, digits and dashes. */
export function projectName(raw: string): string {
  const n = raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (!DNS_LABEL.test(n) || n.length > 40) {
    throw new UsageError(
      `The project name ${raw} must give lowercase letters, digits and dashes (at most 40); pass -p NAME.`,
    );
  }
  return n;
}

/** Extension fields (`x-…`) are free for the file's author (anchors); Compose ignores them by design. */
function withoutExtensions(v: unknown): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return v as Record<string, unknown>;
  return Object.fromEntries(Object.entries(v).filter(([k]) => !k.startsWith('x-')));
}

function parseYaml(text: string, file: string): unknown {
  const doc = parseDocument(text, { merge: true, prettyErrors: true });
  if (doc.errors.length) {
    throw new UsageError(`${file} is not valid YAML: ${doc.errors[0]!.message}`);
  }
  return doc.toJS({ maxAliasCount: 1000 });
}

/** Start order (dependencies first, otherwise the file's order); cycles and unknown names refused. */
export function startOrder(deps: Map<string, string[]>): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (s: string, trail: string[]) => {
    if (state.get(s) === 'done') return;
    if (state.get(s) === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(s)), s];
      throw new UsageError(`services.${s}.depends_on: dependency cycle ${cycle.join(' → ')}.`);
    }
    state.set(s, 'visiting');
    for (const d of deps.get(s) ?? []) {
      if (!deps.has(d)) throw new UsageError(`services.${s}.depends_on: unknown service ${d}.`);
      visit(d, [...trail, s]);
    }
    state.set(s, 'done');
    order.push(s);
  };
  for (const s of deps.keys()) visit(s, []);
  return order;
}

/** Reads, interpolates and validates a compose file into what `up` creates, in order. */
export function loadCompose(o: {
  file?: string;
  project?: string;
  cwd?: string;
  environ?: NodeJS.ProcessEnv;
}): ComposeProject {
  const file = findComposeFile(o.file, o.cwd ?? process.cwd());
  const dir = dirname(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`${file} is not a readable file.`);
  }
  const environ = o.environ ?? process.env;
  const dotenvPath = resolve(dir, '.env');
  const dotenv = existsSync(dotenvPath)
    ? parseEnvFile(readFileSync(dotenvPath, 'utf8'), dotenvPath, { quotes: true, environ: {} })
    : {};
  // Variables set in the shell win over the .env file, as in Compose.
  const env: Record<string, string | undefined> = { ...dotenv, ...environ };
  const warnings = new Set<string>();
  const raw = withoutExtensions(parseYaml(text, file));
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new UsageError(`${file}: the top level must be a mapping.`);
  if (raw.services && typeof raw.services === 'object' && !Array.isArray(raw.services)) {
    raw.services = Object.fromEntries(
      Object.entries(raw.services).map(([k, v]) => [k, withoutExtensions(v)]),
    );
  }
  const parsed = ComposeFile.safeParse(interpolateTree(raw, env, warnings));
  if (!parsed.success) {
    throw new UsageError(
      `${file} is not a compose file hearth can run:\n  ${describeIssues(parsed.error.issues).join('\n  ')}`,
    );
  }
  const cf = parsed.data;
  if (cf.version !== undefined) warnings.add('the top-level version is obsolete and has no effect');
  const name = projectName(o.project ?? cf.name ?? environ.COMPOSE_PROJECT_NAME ?? basename(dir));
  const serviceNames = Object.keys(cf.services);
  if (!serviceNames.length) throw new UsageError(`${file}: services: at least one service is needed.`);
  for (const s of serviceNames) {
    if (!DNS_LABEL.test(s) || s.length > 40) {
      throw new UsageError(
        `services.${s}: a service name must be lowercase letters, digits and dashes (it is a DNS name).`,
      );
    }
  }
  const resources = (
    m: Record<string, { name?: string; external?: boolean } | null> | undefined,
    kind: string,
  ) =>
    Object.entries(m ?? {}).map(([key, v]) => {
      const rname = v?.name ?? `${name}-${key}`;
      if (!DNS_LABEL.test(rname)) {
        throw new UsageError(
          `${kind}.${key}: the name ${rname} must be lowercase letters, digits and dashes.`,
        );
      }
      return { key, name: rname, external: Boolean(v?.external) };
    });
  const volumes = resources(cf.volumes, 'volumes');
  const networks = resources(cf.networks, 'networks');
  if (!networks.some((n) => n.key === 'default'))
    networks.unshift({ key: 'default', name: `${name}-default`, external: false });
  const ctx = {
    project: name,
    dir,
    env,
    volumes: new Map(volumes.map((v) => [v.key, v.name])),
    networks: new Map(networks.map((n) => [n.key, n.name])),
  };
  const deps = new Map<string, { service: string; condition: DependsCondition }[]>();
  for (const [s, svc] of Object.entries(cf.services)) {
    const d = svc.depends_on;
    const list = Array.isArray(d)
      ? d.map((service) => ({ service, condition: 'service_started' as const }))
      : Object.entries(d ?? {}).map(([service, v]) => ({
          service,
          condition: v.condition ?? 'service_started',
        }));
    for (const dep of list) {
      if (
        dep.condition === 'service_healthy' &&
        cf.services[dep.service] &&
        !cf.services[dep.service]!.healthcheck
      ) {
        throw new UsageError(
          `services.${s}.depends_on.${dep.service}: condition service_healthy needs a healthcheck on services.${dep.service}.`,
        );
      }
    }
    deps.set(s, list);
  }
  const order = startOrder(new Map([...deps].map(([s, l]) => [s, l.map((x) => x.service)])));
  const services = order.map((s) => ({
    name: s,
    dependsOn: deps.get(s)!,
    body: serviceBody(s, cf.services[s]!, ctx),
  }));
  const names = new Set<string>();
  for (const s of services) {
    if (names.has(s.body.name!))
      throw new UsageError(`services.${s.name}.container_name: ${s.body.name} is used twice.`);
    names.add(s.body.name!);
  }
  // Only the networks a service uses are created (Compose does the same).
  const used = new Set(services.map((s) => s.body.network));
  return {
    name,
    file,
    services,
    volumes,
    networks: networks.filter((n) => used.has(n.name)),
    warnings: [...warnings],
  };
}
