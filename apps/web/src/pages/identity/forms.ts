import {
  CreateProjectBody,
  CreateTokenBody,
  CreateUserBody,
  HearthError,
  PROJECT_ROLES,
  QUOTA_NAMES,
  type ProjectQuotas,
  type ProjectUsage,
  type QuotaName,
} from '@hearth/contract';
import type { z } from 'zod';
import { apiFields, issuesToFields, type FieldErrors } from '../../lib/fields.ts';

type Checked<T> = { body: T; errors: null } | { body: null; errors: FieldErrors };

function check<S extends z.ZodType>(schema: S, input: unknown): Checked<z.input<S>> {
  const r = schema.safeParse(input);
  return r.success
    ? { body: input as z.input<S>, errors: null }
    : { body: null, errors: issuesToFields(r.error.issues) };
}

/** Blank inputs are left out of a body (the API's defaults apply). */
const opt = (s: string) => s.trim() || undefined;

export interface UserForm {
  name: string;
  password: string;
  displayName: string;
  email: string;
  admin: boolean;
}
export const emptyUserForm: UserForm = { name: '', password: '', displayName: '', email: '', admin: false };

/** The new user's body, checked with the contract's `CreateUserBody`. */
export const userBody = (f: UserForm) =>
  check(CreateUserBody, {
    name: f.name.trim(),
    password: f.password || undefined,
    displayName: opt(f.displayName),
    email: opt(f.email),
    admin: f.admin,
  });

export const projectBody = (f: { name: string; description: string }) =>
  check(CreateProjectBody, { name: f.name.trim(), description: f.description.trim() });

export interface TokenForm {
  name: string;
  expiresIn: string;
  role: '' | (typeof PROJECT_ROLES)[number] | 'admin';
  project: string;
}
export const emptyTokenForm: TokenForm = { name: '', expiresIn: '90d', role: '', project: '' };

export const tokenBody = (f: TokenForm) =>
  check(CreateTokenBody, {
    name: f.name.trim(),
    expiresIn: opt(f.expiresIn),
    role: f.role || undefined,
    project: opt(f.project),
  });

/** Codes that concern one input go next to it; `fields` from the API too. */
const CODE_FIELD: Partial<Record<string, string>> = {
  USER_NAME_TAKEN: 'name',
  PROJECT_NAME_TAKEN: 'name',
  USER_NOT_FOUND: 'user',
  PROJECT_NOT_FOUND: 'project',
};

export function errorFields(e: unknown): FieldErrors {
  if (!(e instanceof HearthError)) return {};
  const out = e.fields ? apiFields(e.fields) : {};
  const key = CODE_FIELD[e.code];
  if (key && !out[key]) out[key] = [e.message];
  return out;
}

export const QUOTA_LABEL: Record<QuotaName, string> = {
  vms: 'VMs',
  vcpus: 'vCPUs',
  memoryMib: 'Memory (MiB)',
  diskMib: 'Disk (MiB)',
  snapshots: 'Snapshots',
  volumes: 'Volumes',
  networks: 'Networks',
  publishedPorts: 'Published ports',
};

export type QuotaInputs = Record<QuotaName, string>;

/** A project's quotas as inputs: blank is no limit. */
export const quotaInputs = (q: ProjectQuotas): QuotaInputs =>
  Object.fromEntries(QUOTA_NAMES.map((n) => [n, q[n] == null ? '' : String(q[n])])) as QuotaInputs;

/**
 * The quotas that changed, for `PATCH /v1/projects/{id}` (merged into the current ones; null
 * removes a limit), or the inputs that are not whole numbers.
 */
export function quotaPatch(
  inputs: QuotaInputs,
  current: ProjectQuotas,
): { quotas: ProjectQuotas; errors: null } | { quotas: null; errors: FieldErrors } {
  const quotas: ProjectQuotas = {};
  const errors: FieldErrors = {};
  for (const n of QUOTA_NAMES) {
    const raw = inputs[n].trim();
    const value = raw === '' ? null : /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (Number.isNaN(value)) errors[n] = ['a whole number, or blank for no limit'];
    else if (value !== (current[n] ?? null)) quotas[n] = value;
  }
  return Object.keys(errors).length ? { quotas: null, errors } : { quotas, errors: null };
}

export interface QuotaRow {
  name: QuotaName;
  label: string;
  used: number;
  limit: number | null;
  /** Used share of the limit in percent, capped at 100 (null: no limit). */
  pct: number | null;
}

/** Each quota against its usage, for the bars on a project's page. */
export const quotaRows = (quotas: ProjectQuotas, usage: ProjectUsage): QuotaRow[] =>
  QUOTA_NAMES.map((name) => {
    const limit = quotas[name] ?? null;
    const used = usage[name];
    const pct = limit === null ? null : limit === 0 ? 100 : Math.min(100, Math.round((used / limit) * 100));
    return { name, label: QUOTA_LABEL[name], used, limit, pct };
  });
