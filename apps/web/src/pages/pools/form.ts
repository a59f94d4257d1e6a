import { CreatePoolBody, HearthError, PatchPoolBody, type Pool, type PoolSpec } from '@hearth/contract';
import type { z } from 'zod';
import { apiFields, issuesToFields, type FieldErrors } from '../../lib/fields.ts';

/** The pool form's inputs, as typed. Empty spec inputs are left out so the API's defaults apply. */
export interface PoolForm {
  name: string;
  project: string;
  mode: Pool['mode'];
  size: string;
  template: string;
  image: string;
  vcpus: string;
  memoryMib: string;
  network: string;
}

export const emptyPoolForm: PoolForm = {
  name: '',
  project: 'default',
  mode: 'booted',
  size: '1',
  template: '',
  image: '',
  vcpus: '',
  memoryMib: '',
  network: '',
};

const text = (s: string) => (s.trim() === '' ? undefined : s.trim());
const num = (s: string) => (s.trim() === '' ? undefined : Number(s));

/** The body of POST /v1/pools. */
export function toPoolBody(f: PoolForm): z.input<typeof CreatePoolBody> {
  const spec: Record<string, unknown> = {
    template: text(f.template),
    image: text(f.image),
    vcpus: num(f.vcpus),
    memoryMib: num(f.memoryMib),
    network: text(f.network),
  };
  for (const k of Object.keys(spec)) if (spec[k] === undefined) delete spec[k];
  return {
    name: f.name.trim(),
    project: text(f.project) ?? 'default',
    mode: f.mode,
    size: num(f.size) ?? 1,
    spec: spec as PoolSpec,
  };
}

/** The form has no nesting: `spec.vcpus` belongs to the vCPUs input. */
const flat = (path: PropertyKey[]): PropertyKey[] =>
  path[0] === 'spec' && path.length > 1 ? path.slice(1) : path;

/** The contract's CreatePoolBody, as the API checks it, keyed by input. */
export function validatePool(f: PoolForm): FieldErrors {
  const errors: FieldErrors = {};
  if (f.size.trim() !== '' && !/^\d+$/.test(f.size.trim())) errors.size = ['a whole number of VMs'];
  const r = CreatePoolBody.safeParse(toPoolBody(f));
  if (!r.success) {
    const fields = issuesToFields(r.error.issues.map((i) => ({ ...i, path: flat(i.path) })));
    for (const [k, v] of Object.entries(fields)) errors[k] ??= v;
  }
  return errors;
}

/** A new size for PATCH /v1/pools/{id}: a whole number within the contract's bounds, or why not. */
export function checkSize(size: string): { size: number } | { error: string } {
  const t = size.trim();
  if (!/^\d+$/.test(t)) return { error: 'a whole number of VMs' };
  const r = PatchPoolBody.safeParse({ size: Number(t) });
  return r.success ? { size: Number(t) } : { error: r.error.issues[0]!.message };
}

/** API errors that concern one input although they carry no `fields`. */
const CODE_FIELD: Record<string, keyof PoolForm> = {
  POOL_NAME_TAKEN: 'name',
  IMAGE_NOT_FOUND: 'image',
  TEMPLATE_NOT_FOUND: 'template',
  NETWORK_NOT_FOUND: 'network',
};

/** An API refusal of a create, next to its input when it concerns one. */
export function poolFieldsOf(e: unknown): FieldErrors {
  if (!(e instanceof HearthError)) return {};
  if (e.fields && Object.keys(e.fields).length) {
    return apiFields(
      Object.fromEntries(Object.entries(e.fields).map(([k, v]) => [flat(k.split('.')).join('.'), v])),
    );
  }
  const field = CODE_FIELD[e.code];
  return field ? { [field]: [e.message] } : {};
}

/** The spec in words, for the list: `base image, 1 vCPU, 128 MiB, default network`. */
export function poolSpecText(p: Pick<Pool, 'spec'>): string {
  const s = p.spec;
  const parts = [
    s.template ? `template ${s.template}` : null,
    s.image ? s.image : s.template ? null : 'base image',
    s.vcpus !== undefined ? `${s.vcpus} vCPU` : null,
    s.memoryMib !== undefined ? `${s.memoryMib} MiB` : null,
    s.network ? `network ${s.network}` : s.networks?.length ? `networks ${s.networks.join(', ')}` : null,
  ];
  return parts.filter(Boolean).join(', ');
}

/** The hit rate in words: `75% (3 of 4)`, or `—` before the first create. */
export function hitRateText(p: Pick<Pool, 'hits' | 'misses' | 'hitRate'>): string {
  if (p.hitRate === null) return '—';
  return `${Math.round(p.hitRate * 100)}% (${p.hits} of ${p.hits + p.misses})`;
}
