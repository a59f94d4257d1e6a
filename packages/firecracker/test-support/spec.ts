import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/**
 * The published Firecracker API (Swagger 2.0), read at run time from the shared folder beside
 * the checkout — never copied into the repository, so the checker cannot drift from it.
 */
export const SPEC_PATH =
  process.env.HEARTH_FIRECRACKER_SPEC ??
  join(dirname(fileURLToPath(import.meta.url)), '../../../../shared/firecracker/firecracker-api.yaml');

export interface Schema {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  items?: Schema;
  format?: string;
}

export interface Operation {
  operationId: string;
  parameters?: { name: string; in: string; required?: boolean; schema?: Schema; type?: string }[];
  responses: Record<string, { schema?: Schema }>;
}

export interface ApiSpec {
  info: { version: string };
  paths: Record<string, Record<string, Operation>>;
  definitions: Record<string, Schema>;
}

let cached: ApiSpec | null = null;

export function loadSpec(path = SPEC_PATH): ApiSpec {
  if (path === SPEC_PATH && cached) return cached;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`Loading the Firecracker API spec failed: ${path} (${(e as Error).message})`);
  }
  const spec = parse(text) as ApiSpec;
  if (path === SPEC_PATH) cached = spec;
  return spec;
}

/** Finds the spec's path template for a concrete path: `/drives/root` → `/drives/{drive_id}`. */
export function matchPath(
  spec: ApiSpec,
  path: string,
): { template: string; params: Record<string, string> } | null {
  for (const template of Object.keys(spec.paths)) {
    const names: string[] = [];
    const re = new RegExp(
      '^' +
        template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, n: string) => {
          names.push(n);
          return '([^/]+)';
        }) +
        '$',
    );
    const m = re.exec(path);
    if (m) {
      const params: Record<string, string> = {};
      names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1]!)));
      return { template, params };
    }
  }
  return null;
}

const FORMAT_NAMES = new Set(['int32', 'int64', 'float', 'double']);

/**
 * Validates a JSON value against a Swagger 2.0 schema as Firecracker's server does: required
 * fields, types, enums, bounds, and — stricter than the YAML says — unknown fields rejected
 * wherever the schema lists its properties (serde's deny_unknown_fields). Objects declared
 * without properties (MMDS contents, CPU templates) are free-form.
 */
export function validate(spec: ApiSpec, value: unknown, schema: Schema, at = 'body'): string[] {
  if (schema.$ref) {
    const name = schema.$ref.replace('#/definitions/', '');
    const def = spec.definitions[name];
    if (!def) return [`${at}: the spec has no definition ${name}`];
    return validate(spec, value, def, at);
  }
  const errors: string[] = [];
  const type = schema.type ?? (schema.properties ? 'object' : undefined);
  switch (type) {
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        return [`${at}: expected an object`];
      const obj = value as Record<string, unknown>;
      for (const r of schema.required ?? []) if (!(r in obj)) errors.push(`${at}: missing field \`${r}\``);
      if (schema.properties) {
        for (const [k, v] of Object.entries(obj)) {
          const prop = schema.properties[k];
          if (!prop)
            errors.push(
              `${at}: unknown field \`${k}\`, expected one of ${Object.keys(schema.properties).join(', ')}`,
            );
          else errors.push(...validate(spec, v, prop, `${at}.${k}`));
        }
      }
      return errors;
    }
    case 'array':
      if (!Array.isArray(value)) return [`${at}: expected an array`];
      return value.flatMap((v, i) => (schema.items ? validate(spec, v, schema.items, `${at}[${i}]`) : []));
    case 'string':
      if (typeof value !== 'string') return [`${at}: expected a string`];
      if (
        schema.format &&
        !FORMAT_NAMES.has(schema.format) &&
        !new RegExp(`^${schema.format}$`).test(value)
      ) {
        errors.push(`${at}: ${JSON.stringify(value)} does not match ${schema.format}`);
      }
      break;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return [`${at}: expected an integer`];
      break;
    case 'number':
      if (typeof value !== 'number') return [`${at}: expected a number`];
      break;
    case 'boolean':
      if (typeof value !== 'boolean') return [`${at}: expected a boolean`];
      break;
  }
  if (schema.enum && !schema.enum.includes(value)) {
    errors.push(`${at}: unknown variant ${JSON.stringify(value)}, expected one of ${schema.enum.join(', ')}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum)
      errors.push(`${at}: ${value} is below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum)
      errors.push(`${at}: ${value} is above ${schema.maximum}`);
  }
  return errors;
}
