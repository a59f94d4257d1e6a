import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { DEFAULT_CONFIG_PATH, ENV_OF, HostConfig } from '@hearth/contract/host-config';
import { UsageError } from './usage-error.ts';

/**
 * Reads the host configuration: defaults < the file < the environment < command-line flags
 * (docs/install.md). The file is `--config`, else HEARTH_CONFIG, else /etc/hearth/hearth.yaml,
 * which may be absent (the defaults and the environment then decide); a file named explicitly
 * must exist. Any error names the file and the key's path; nothing starts on a bad setting.
 */
export async function loadHostConfig(
  o: {
    path?: string | undefined;
    env?: NodeJS.ProcessEnv;
    /** Flags the user gave, by key path (`manager.port`); undefined values are ignored. */
    flags?: Record<string, unknown>;
  } = {},
): Promise<HostConfig & { source: string | null }> {
  const env = o.env ?? process.env;
  const explicit = o.path ?? env.HEARTH_CONFIG;
  const path = explicit || DEFAULT_CONFIG_PATH;
  const fromFile = await readConfigFile(path, Boolean(explicit));
  if (fromFile !== null) {
    const checked = HostConfig.safeParse(fromFile);
    if (!checked.success) throw new UsageError(describe(`${path}`, checked.error));
  }
  const merged = (fromFile ?? {}) as Record<string, unknown>;
  for (const [key, name] of Object.entries(ENV_OF)) {
    const v = env[name];
    // An empty variable is unset, except where '' means "none" (the Docker socket).
    if (v !== undefined && (v !== '' || key === 'manager.docker.socket')) setPath(merged, key, v);
  }
  for (const [key, v] of Object.entries(o.flags ?? {})) if (v !== undefined) setPath(merged, key, v);
  const out = HostConfig.safeParse(merged);
  if (!out.success) {
    throw new UsageError(describe('the configuration (file, environment and flags together)', out.error));
  }
  return { ...out.data, source: fromFile === null ? null : path };
}

async function readConfigFile(path: string, required: boolean): Promise<unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !required) return null;
    throw new UsageError(`Reading the configuration file ${path} failed: ${(e as Error).message}.`);
  }
  // Loaded only for a file: most hosts have none, and an agent keeps what it loads for months.
  const loaded = await import('yaml');
  // The bundle hands the package's CommonJS build to a dynamic import as its default export.
  const { parse: parseYaml, YAMLParseError } =
    'parse' in loaded ? loaded : (loaded as unknown as { default: typeof loaded }).default;
  try {
    // An empty file (or one of comments only) is an empty configuration.
    return parseYaml(text) ?? {};
  } catch (e) {
    const where = e instanceof YAMLParseError && e.linePos ? ` at line ${e.linePos[0].line}` : '';
    throw new UsageError(`${path} is not valid YAML${where}: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** One line per problem: `<where>: manager.prot: unknown key (…)`, with the key's variable. */
function describe(where: string, error: z.ZodError): string {
  const lines = error.issues.flatMap((issue) => {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => `  ${base ? `${base}.${k}` : k}: unknown key`);
    }
    const name = ENV_OF[base];
    return [`  ${base || '(top level)'}${name ? ` (${name})` : ''}: ${issue.message}`];
  });
  return `Invalid configuration in ${where}:\n${lines.join('\n')}\nSee docs/install.md for every key.`;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let at = obj;
  for (const p of parts.slice(0, -1)) {
    const next = at[p];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) at[p] = {};
    at = at[p] as Record<string, unknown>;
  }
  at[parts.at(-1)!] = value;
}
