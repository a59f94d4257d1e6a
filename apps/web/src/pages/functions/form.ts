import {
  CreateFunctionBody,
  DeployFunctionBody,
  FUNCTION_RUNTIMES,
  type FunctionInfo,
  type FunctionRuntime,
} from '@hearth/contract';
import type { z } from 'zod';
import { issuesToFields, type FieldErrors } from '../../lib/fields.ts';
import { DEFAULT_HANDLER, envText, moduleFile, parseEnv, TEMPLATE } from './code.ts';

/** What the create page and the code tab edit: the source files, the one open, and the settings. */
export interface FnDraft {
  runtime: FunctionRuntime;
  handler: string;
  memoryMib: string;
  timeoutS: string;
  env: string;
  files: Record<string, string>;
  /** The file open in the editor. */
  open: string;
}

export const RUNTIMES = FUNCTION_RUNTIMES;

/** A new function's draft: the runtime's template handler in its module file. */
export function newDraft(runtime: FunctionRuntime = 'node22'): FnDraft {
  const handler = DEFAULT_HANDLER[runtime];
  const open = moduleFile(runtime, handler);
  return {
    runtime,
    handler,
    memoryMib: '128',
    timeoutS: '30',
    env: '',
    files: { [open]: TEMPLATE[runtime] },
    open,
  };
}

/**
 * Another runtime chosen on the create page: an untouched template becomes the new runtime's
 * template (file, handler and all); edited code stays, only the handler's default follows.
 */
export function switchRuntime(d: FnDraft, runtime: FunctionRuntime): FnDraft {
  const untouched =
    Object.keys(d.files).length === 1 &&
    d.files[moduleFile(d.runtime, DEFAULT_HANDLER[d.runtime])] === TEMPLATE[d.runtime];
  if (untouched) return { ...newDraft(runtime), memoryMib: d.memoryMib, timeoutS: d.timeoutS, env: d.env };
  const handler = d.handler === DEFAULT_HANDLER[d.runtime] ? DEFAULT_HANDLER[runtime] : d.handler;
  return { ...d, runtime, handler };
}

/** A deployed version's code with the function's settings, for the code tab. */
export function draftOf(
  f: FunctionInfo,
  code: { runtime: FunctionRuntime; handler: string; files: Record<string, string> },
): FnDraft {
  const main = moduleFile(code.runtime, code.handler);
  return {
    runtime: code.runtime,
    handler: code.handler,
    memoryMib: String(f.config.memoryMib),
    timeoutS: String(f.config.timeoutS),
    env: envText(f.config.env),
    files: code.files,
    open: main in code.files ? main : (Object.keys(code.files)[0] ?? main),
  };
}

const num = (s: string) => (s.trim() === '' ? undefined : Number(s));

type Parsed<T> = { body: T; errors: FieldErrors } | { body: null; errors: FieldErrors };

function checked<S extends z.ZodType>(schema: S, raw: Record<string, unknown>, envError: string | null) {
  const r = schema.safeParse(raw);
  const errors = r.success ? {} : issuesToFields(r.error.issues);
  if (envError) errors.env = [envError];
  // The raw body is sent, not the parsed one: defaults are the server's to fill (a deploy that
  // omits a setting keeps the function's own).
  return Object.keys(errors).length || !r.success
    ? { body: null, errors }
    : { body: raw as z.input<S>, errors: {} };
}

/** The deploy request of a draft, checked by the contract's schema before anything is sent. */
export function toDeployBody(d: FnDraft): Parsed<z.input<typeof DeployFunctionBody>> {
  const env = parseEnv(d.env);
  const raw = {
    runtime: d.runtime,
    handler: d.handler.trim(),
    files: d.files,
    memoryMib: num(d.memoryMib),
    timeoutS: num(d.timeoutS),
    env: env.value,
  };
  return checked(DeployFunctionBody, raw, env.error);
}

export function toCreateBody(name: string, d: FnDraft): Parsed<z.input<typeof CreateFunctionBody>> {
  const env = parseEnv(d.env);
  const raw = {
    name: name.trim(),
    runtime: d.runtime,
    handler: d.handler.trim(),
    files: d.files,
    memoryMib: num(d.memoryMib),
    timeoutS: num(d.timeoutS),
    env: env.value,
  };
  return checked(CreateFunctionBody, raw, env.error);
}
