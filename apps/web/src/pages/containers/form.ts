import { CreateContainerBody, HearthError, type ErrorCode } from '@hearth/contract';
import type { z } from 'zod';
import type { FieldErrors } from '../../lib/fields.ts';

export type HealthKind = '' | 'cmd' | 'http' | 'tcp';
export type RestartChoice = 'no' | 'always' | 'unless-stopped' | 'on-failure';

/** The create form's inputs, as typed. Empty inputs are left out so the API's defaults apply. */
export interface ContainerForm {
  image: string;
  pull: 'missing' | 'always' | 'never';
  name: string;
  /** The project chosen in the menu; empty: the caller's default (the API picks it). */
  project: string;
  /** One `HOST:CONTAINER[/udp]` a line (commas work too). */
  ports: string;
  /** One `KEY=VALUE` a line. */
  env: string;
  /** One `KEY=secret-name` a line. */
  secretEnv: string;
  /** One `volume:/path[:ro]` a line. */
  volumes: string;
  vcpus: string;
  memoryMib: string;
  restart: RestartChoice;
  maxRetries: string;
  healthKind: HealthKind;
  /** The command (`/bin/sh -c`) of a `cmd` check. */
  healthCmd: string;
  healthPort: string;
  healthPath: string;
  healthInterval: string;
  healthRetries: string;
}

export const emptyContainerForm: ContainerForm = {
  image: '',
  pull: 'missing',
  name: '',
  project: '',
  ports: '',
  env: '',
  secretEnv: '',
  volumes: '',
  vcpus: '',
  memoryMib: '',
  restart: 'no',
  maxRetries: '',
  healthKind: '',
  healthCmd: '',
  healthPort: '',
  healthPath: '',
  healthInterval: '',
  healthRetries: '',
};

export type Body = z.input<typeof CreateContainerBody>;

/**
 * Non-empty trimmed items, one a line (or between commas), numbered from 1 the way the schema's
 * paths count them (`ports.1` is item 2), blank lines not counted.
 */
function items(text: string, commas: boolean): { n: number; text: string }[] {
  const parts = text.split('\n').flatMap((l) => (commas ? l.split(',') : [l]));
  return parts
    .map((t) => t.trim())
    .filter((t) => t !== '')
    .map((t, i) => ({ n: i + 1, text: t }));
}

const text = (s: string) => (s.trim() === '' ? undefined : s.trim());
const num = (s: string) => (s.trim() === '' ? undefined : Number(s.trim()));

interface Parsed<T> {
  value: T;
  errors: string[];
}

/** `8080:80`, `5353:53/udp`: host port first, as with `docker run -p`. */
export function parsePorts(input: string): Parsed<NonNullable<Body['ports']>> {
  const value: NonNullable<Body['ports']> = [];
  const errors: string[] = [];
  for (const { n, text: t } of items(input, true)) {
    const m = /^(\d{1,5}):(\d{1,5})(?:\/(tcp|udp))?$/.exec(t);
    if (!m) errors.push(`"${t}" (item ${n}): write HOST:CONTAINER like 8080:80, or 5353:53/udp`);
    else value.push({ host: Number(m[1]), container: Number(m[2]), protocol: (m[3] as 'udp') ?? 'tcp' });
  }
  return { value, errors };
}

/** `KEY=VALUE` lines (the value may hold `=` and inner spaces; both sides are trimmed). */
export function parsePairs(input: string, what: string): Parsed<Record<string, string>> {
  const value: Record<string, string> = {};
  const errors: string[] = [];
  for (const { text: line } of items(input, false)) {
    const eq = line.indexOf('=');
    if (eq <= 0) errors.push(`each line must look like ${what} (check "${line}")`);
    else value[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return { value, errors };
}

/** `data:/var/lib/data`, `conf:/etc/app:ro`: a named volume and where it is mounted. */
export function parseVolumes(input: string): Parsed<NonNullable<Body['volumes']>> {
  const value: NonNullable<Body['volumes']> = [];
  const errors: string[] = [];
  for (const { n, text: t } of items(input, false)) {
    const [source, target, mode, ...more] = t.split(':');
    if (!source || !target || more.length || (mode !== undefined && mode !== 'ro' && mode !== 'rw'))
      errors.push(`"${t}" (item ${n}): write VOLUME:/path or VOLUME:/path:ro`);
    else value.push({ source, target, readOnly: mode === 'ro' });
  }
  return { value, errors };
}

function healthOf(f: ContainerForm): Body['healthcheck'] {
  if (!f.healthKind) return undefined;
  const probe =
    f.healthKind === 'cmd'
      ? { cmd: f.healthCmd.trim() }
      : f.healthKind === 'http'
        ? { http: { port: num(f.healthPort) as number, path: text(f.healthPath) ?? '/' } }
        : { tcp: { port: num(f.healthPort) as number } };
  const h: Record<string, unknown> = {
    ...probe,
    interval: text(f.healthInterval),
    retries: num(f.healthRetries),
  };
  for (const k of Object.keys(h)) if (h[k] === undefined) delete h[k];
  return h as Body['healthcheck'];
}

/** The body of POST /v1/containers, with the line inputs' own complaints beside it. */
function build(f: ContainerForm): { body: Body; errors: FieldErrors } {
  const ports = parsePorts(f.ports);
  const env = parsePairs(f.env, 'NAME=value');
  const secretEnv = parsePairs(f.secretEnv, 'NAME=secret-name');
  const volumes = parseVolumes(f.volumes);
  const restart =
    f.restart === 'on-failure' && f.maxRetries.trim() ? `on-failure:${f.maxRetries.trim()}` : f.restart;
  const body: Record<string, unknown> = {
    name: text(f.name),
    project: text(f.project),
    image: f.image.trim(),
    pull: f.pull === 'missing' ? undefined : f.pull,
    ports: ports.value.length ? ports.value : undefined,
    env: Object.keys(env.value).length ? env.value : undefined,
    secretEnv: Object.keys(secretEnv.value).length ? secretEnv.value : undefined,
    volumes: volumes.value.length ? volumes.value : undefined,
    vcpus: num(f.vcpus),
    memoryMib: num(f.memoryMib),
    restart: restart === 'no' ? undefined : restart,
    healthcheck: healthOf(f),
  };
  for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
  const errors: FieldErrors = {};
  const add = (k: string, msgs: string[]) => msgs.length && (errors[k] = msgs);
  add('ports', ports.errors);
  add('env', env.errors);
  add('secretEnv', secretEnv.errors);
  add('volumes', volumes.errors);
  return { body: body as Body, errors };
}

export const toContainerBody = (f: ContainerForm): Body => build(f).body;

/** The health check's fields belong to the input that holds them. */
const HEALTH_INPUT: Record<string, keyof ContainerForm> = {
  cmd: 'healthCmd',
  http: 'healthPort',
  tcp: 'healthPort',
  interval: 'healthInterval',
  retries: 'healthRetries',
  timeout: 'healthInterval',
  startPeriod: 'healthInterval',
};

/**
 * Which input a schema path (or the API's dotted `fields` key) belongs to, and the words to put
 * in front of the message: `ports.1.host` → ports, "item 2, host"; `env.1X` → env, "1X";
 * `healthcheck.http.path` → healthPath; `restart` → the max-retries input when it has one.
 */
export function inputFor(path: readonly PropertyKey[], f?: ContainerForm): { key: string; where: string } {
  const [head, second, ...rest] = path.map(String);
  if (head === 'ports' || head === 'volumes') {
    const n = Number(second);
    const where = Number.isInteger(n) ? [`item ${n + 1}`, ...rest].join(', ') : '';
    return { key: head, where };
  }
  if (head === 'healthcheck') {
    if (second === undefined) return { key: 'healthKind', where: '' };
    if (second === 'http' && rest[0] === 'path') return { key: 'healthPath', where: '' };
    return { key: HEALTH_INPUT[second] ?? 'healthKind', where: '' };
  }
  if (head === 'restart' && f?.restart === 'on-failure' && f.maxRetries.trim())
    return { key: 'maxRetries', where: '' };
  if (head === 'env' || head === 'secretEnv' || head === 'labels')
    return { key: head, where: [second, ...rest].filter((x) => x !== undefined).join('.') };
  return { key: head ?? '(body)', where: [second, ...rest].filter((x) => x !== undefined).join('.') };
}

function put(errors: FieldErrors, path: readonly PropertyKey[], message: string, f?: ContainerForm) {
  const { key, where } = inputFor(path, f);
  (errors[key] ??= []).push(where ? `${where}: ${message}` : message);
}

/** An issue's words; a bad record key (`env`) says why the key is bad, not only that it is. */
function issueMessage(i: z.core.$ZodIssue): string {
  return i.code === 'invalid_key' && i.issues[0] ? i.issues[0].message : i.message;
}

/**
 * The contract's own CreateContainerBody, as the API checks it, keyed by input, after the plainer
 * checks of the line inputs (a malformed line is named as typed; the schema then checks values).
 */
export function validateContainer(f: ContainerForm): FieldErrors {
  const { body, errors } = build(f);
  if (!f.image.trim()) errors.image = ['give an image reference, such as nginx:1.25 or registry:5000/app:1'];
  if (f.healthKind === 'cmd' && !f.healthCmd.trim()) errors.healthCmd = ['give the command to run'];
  if ((f.healthKind === 'http' || f.healthKind === 'tcp') && !f.healthPort.trim())
    errors.healthPort = ['give the port to probe'];
  if (f.restart === 'on-failure' && f.maxRetries.trim() && !/^\d+$/.test(f.maxRetries.trim()))
    errors.maxRetries = ['a whole number of restarts'];
  const r = CreateContainerBody.safeParse(body);
  if (!r.success) {
    const schema: FieldErrors = {};
    for (const i of r.error.issues) put(schema, i.path, issueMessage(i), f);
    for (const [k, v] of Object.entries(schema)) if (v?.length) errors[k] ??= v;
  }
  return errors;
}

/** API refusals that concern one input although they carry no `fields`. */
const CODE_INPUT: Partial<Record<ErrorCode, keyof ContainerForm>> = {
  CONTAINER_NAME_TAKEN: 'name',
  IMAGE_NOT_FOUND: 'image',
  IMAGE_SOURCE_NOT_FOUND: 'image',
  IMAGE_SOURCE_UNREACHABLE: 'image',
  REGISTRY_AUTH_FAILED: 'image',
  SECRET_NOT_FOUND: 'secretEnv',
  PORT_TAKEN: 'ports',
};

/** An API refusal of a create, next to its input when it concerns one. */
export function containerFieldsOf(e: unknown, f?: ContainerForm): FieldErrors {
  if (!(e instanceof HearthError)) return {};
  const out: FieldErrors = {};
  if (e.fields && Object.keys(e.fields).length) {
    for (const [path, msgs] of Object.entries(e.fields))
      for (const m of msgs) put(out, path.split('.'), m, f);
    return out;
  }
  const input = CODE_INPUT[e.code];
  return input ? { [input]: [e.message] } : {};
}
