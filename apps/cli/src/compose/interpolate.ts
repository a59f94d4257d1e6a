import { UsageError } from '../usage-error.ts';

/**
 * Compose's variable interpolation in every string value: `$VAR`, `${VAR}`, `${VAR:-default}`
 * (unset or empty), `${VAR-default}` (unset), `${VAR:?message}` / `${VAR?message}` (required),
 * `${VAR:+alt}` / `${VAR+alt}` (replacement when set), and `$$` for a literal `$`. Keys are not
 * interpolated, as in Compose. An unset variable without a default becomes the empty string and
 * is reported in `warnings`.
 */
const RE = /\$(?:(\$)|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g;
const EXPR = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/;

export function interpolateString(
  text: string,
  env: Record<string, string | undefined>,
  where: string,
  warnings: Set<string>,
): string {
  return text.replace(RE, (_all, dollar?: string, braced?: string, bare?: string) => {
    if (dollar) return '$';
    if (bare) return lookup(bare, env, warnings);
    const m = EXPR.exec(braced!);
    if (!m) throw new UsageError(`${where}: \${${braced}} is not a valid variable reference.`);
    const [, name, op, arg = ''] = m as unknown as [string, string, string | undefined, string | undefined];
    const v = env[name];
    const set = v !== undefined;
    const nonEmpty = set && v !== '';
    switch (op) {
      case undefined:
        return lookup(name, env, warnings);
      case ':-':
        return nonEmpty ? v : arg;
      case '-':
        return set ? v : arg;
      case ':?':
      case '?':
        if (op === ':?' ? nonEmpty : set) return v!;
        throw new UsageError(`${where}: required variable ${name} is not set${arg ? `: ${arg}` : ''}.`);
      case ':+':
        return nonEmpty ? arg : '';
      default:
        return set ? arg : '';
    }
  });
}

function lookup(name: string, env: Record<string, string | undefined>, warnings: Set<string>): string {
  const v = env[name];
  if (v === undefined) {
    warnings.add(`the variable ${name} is not set; an empty string is used`);
    return '';
  }
  return v;
}

/** Interpolates every string in a parsed YAML tree (values only), reporting paths like Compose's. */
export function interpolateTree(
  node: unknown,
  env: Record<string, string | undefined>,
  warnings: Set<string>,
  path = '',
): unknown {
  if (typeof node === 'string') return interpolateString(node, env, path || '(top level)', warnings);
  if (Array.isArray(node)) return node.map((v, i) => interpolateTree(v, env, warnings, `${path}[${i}]`));
  if (node && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [k, interpolateTree(v, env, warnings, path ? `${path}.${k}` : k)]),
    );
  }
  return node;
}
