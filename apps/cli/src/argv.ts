import type { Command, Option } from 'commander';

/**
 * Verbs whose options end at their first operand, as in Docker: `hearth run -d nginx nginx -g x`
 * and `hearth exec web ls -la` pass `-g x` and `-la` to the container's command instead of
 * reading them as hearth options. Commander reads options anywhere (the global flags are
 * documented to work after the verb), so a `--` is inserted after that operand, unless options
 * follow it and the user ended them with a `--` of their own (the VM form `exec vm --user u -- cmd`).
 */
const OPTIONS_END_AFTER: Record<string, number> = { run: 1, exec: 1, ssh: 1 };

const takesValue = (o: Option | undefined) => Boolean(o && (o.required || o.optional));

export function endOptionsAtOperands(program: Command, args: string[]): string[] {
  const find = (cmd: Command, flag: string) =>
    cmd.options.find((o) => o.long === flag || o.short === flag) ??
    program.options.find((o) => o.long === flag || o.short === flag);
  let i = 0;
  // The verb: the first word that is neither a global option nor such an option's value.
  for (; i < args.length && args[i]!.startsWith('-'); i++) {
    if (args[i] === '--') return args;
    if (!args[i]!.includes('=') && takesValue(find(program, args[i]!))) i++;
  }
  const verb = args[i];
  const operands = verb === undefined ? undefined : OPTIONS_END_AFTER[verb];
  const cmd = program.commands.find((c) => c.name() === verb || c.aliases().includes(verb ?? ''));
  if (!operands || !cmd) return args;
  let seen = 0;
  for (i++; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return args;
    if (a.startsWith('--')) {
      if (!a.includes('=') && takesValue(find(cmd, a))) i++;
    } else if (a.startsWith('-') && a.length > 1) {
      // A cluster of short flags (-it, -dp 80:80): the first that takes a value ends it.
      for (let j = 1; j < a.length; j++) {
        if (takesValue(find(cmd, `-${a[j]}`))) {
          if (j === a.length - 1) i++;
          break;
        }
      }
    } else if (++seen === operands) {
      const next = args[i + 1];
      // `hearth exec vm --user bob -- cmd`: options after the target, ended by the user's own --.
      const ownEnd = next?.startsWith('-') && args.indexOf('--', i + 1) > i;
      return next !== undefined && next !== '--' && !ownEnd
        ? [...args.slice(0, i + 1), '--', ...args.slice(i + 1)]
        : args;
    }
  }
  return args;
}
