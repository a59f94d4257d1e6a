import type { z } from 'zod';

/** Messages keyed by the input they belong to. */
export type FieldErrors = Partial<Record<string, string[]>>;

const isIndex = (s: PropertyKey | undefined) => s !== undefined && /^\d+$/.test(String(s));

/**
 * Which input a schema path (or the API's dotted `fields` key) belongs to. Most paths belong to
 * the input holding the whole value (`env.FOO`, `sshKeys.0` → `env`, `sshKeys`); the rows of the
 * NIC and port lists, and the egress lists, have inputs of their own (`networks.1`, `ports.0`,
 * `egress.allow`). The rest of the path goes in front of the message.
 */
export function fieldKey(path: readonly PropertyKey[]): { key: string; rest: PropertyKey[] } {
  const [head, second] = path;
  const nested =
    ((head === 'networks' || head === 'ports') && isIndex(second)) ||
    (head === 'egress' && (second === 'allow' || second === 'deny' || second === 'default'));
  return nested
    ? { key: `${String(head)}.${String(second)}`, rest: path.slice(2) }
    : { key: String(head ?? '(body)'), rest: path.slice(1) };
}

const withRest = (rest: PropertyKey[], m: string) => (rest.length ? `${rest.join('.')}: ${m}` : m);

/** Zod issues keyed by input, the same way the API builds `fields` (dotted paths). */
export function issuesToFields(issues: readonly z.core.$ZodIssue[]): FieldErrors {
  const out: Record<string, string[]> = {};
  for (const i of issues) {
    const { key, rest } = fieldKey(i.path);
    (out[key] ??= []).push(withRest(rest, i.message));
  }
  return out;
}

/** The API's `fields` (dotted paths) keyed the same way. */
export function apiFields(fields: Record<string, string[]>): FieldErrors {
  const out: Record<string, string[]> = {};
  for (const [path, msgs] of Object.entries(fields)) {
    const { key, rest } = fieldKey(path.split('.'));
    for (const m of msgs) (out[key] ??= []).push(withRest(rest, m));
  }
  return out;
}

/** Adds `more` to `errors` for the inputs that have no message yet (the first check's words win). */
export function mergeErrors(errors: FieldErrors, more: FieldErrors): FieldErrors {
  for (const [k, v] of Object.entries(more)) if (v?.length) errors[k] ??= v;
  return errors;
}

/** `errors` without the messages of input `key` and of its rows (`ports` drops `ports.1` too). */
export function dropErrors(errors: FieldErrors, key: string): FieldErrors {
  return Object.fromEntries(Object.entries(errors).filter(([k]) => k !== key && !k.startsWith(`${key}.`)));
}
