import { setFlagsFromString } from 'node:v8';
import { Command, CommanderError } from 'commander';
import { agentCommand } from './commands/agent.ts';
import { EXIT } from './output.ts';
import { endOptionsAtOperands } from './argv.ts';
import { HEARTH_VERSION } from './version.ts';

// A long-running manager or agent must not die of one forgotten promise: say so loudly instead.
process.on('unhandledRejection', (e) => {
  process.stderr.write(
    `hearth: unhandled rejection (a bug, please report): ${(e as Error)?.stack ?? String(e)}\n`,
  );
});

/** Verbs that run a server for hours, not a request: they keep V8's optimising WebAssembly tier. */
const SERVERS = new Set(['up', 'manager', 'agent']);

const program = new Command('hearth')
  .description('Hearth: self-hosted microVMs')
  .version(HEARTH_VERSION)
  .option('--json', 'machine-readable output (stable, documented in docs/cli.md)')
  .option('--data-dir <dir>', 'local data directory (default: $HEARTH_DATA_DIR or /var/lib/hearth)')
  .option('--project <name>', "project to act in (default: $HEARTH_PROJECT, else the config's default)")
  .showHelpAfterError()
  .exitOverride()
  .hook('preAction', (_, action) => {
    // fetch parses HTTP with WebAssembly, and optimising that code costs a client verb ~30 MiB and
    // ~0.1 s of CPU it never repays; the long-running servers keep the optimising compiler.
    if (action.parent !== program || !SERVERS.has(action.name())) setFlagsFromString('--liftoff-only');
  });

// A host agent runs for months with what it loads at start: it registers its own verb only, and
// the other verbs' modules (SDK client commands, prompts, the manager's `up`) stay unloaded.
if (verbOf(process.argv.slice(2)) === 'agent') agentCommand(program);
else (await import('./commands/all.ts')).allCommands(program);

/** The verb on a command line: its first word that is neither a global option nor such an option's value. */
function verbOf(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--data-dir' || a === '--project') i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

try {
  await program.parseAsync(endOptionsAtOperands(program, process.argv.slice(2)), { from: 'user' });
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else throw e;
}
