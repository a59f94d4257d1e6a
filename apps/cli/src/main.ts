import { setFlagsFromString } from 'node:v8';
import { Command, CommanderError } from 'commander';
import { vmCommands } from './commands/vm.ts';
import { upCommand } from './commands/up.ts';
import { doctorCommand } from './commands/doctor.ts';
import { agentCommand } from './commands/agent.ts';
import { resourceCommands } from './commands/resources.ts';
import { accessCommands } from './commands/access.ts';
import { snapshotCommands } from './commands/snapshot.ts';
import { volumeCommands } from './commands/volume.ts';
import { networkCommands } from './commands/network.ts';
import { templateCommands } from './commands/template.ts';
import { poolCommands } from './commands/pool.ts';
import { loginCommands } from './commands/login.ts';
import { tokenCommands } from './commands/token.ts';
import { auditCommand } from './commands/audit.ts';
import { userCommands } from './commands/users.ts';
import { projectCommands } from './commands/projects.ts';
import { EXIT } from './output.ts';

// A long-running manager or agent must not die of one forgotten promise: say so loudly instead.
process.on('unhandledRejection', (e) => {
  process.stderr.write(
    `hearth: unhandled rejection (a bug, please report): ${(e as Error)?.stack ?? String(e)}\n`,
  );
});

/** Verbs that run a server for hours, not a request: they keep V8's optimising WebAssembly tier. */
const SERVERS = new Set(['up', 'agent']);

const program = new Command('hearth')
  .description('Hearth: self-hosted microVMs')
  .version('0.1.0')
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

upCommand(program);
vmCommands(program);
doctorCommand(program);
agentCommand(program);
resourceCommands(program);
accessCommands(program);
snapshotCommands(program);
volumeCommands(program);
networkCommands(program);
templateCommands(program);
poolCommands(program);
loginCommands(program);
tokenCommands(program);
auditCommand(program);
userCommands(program);
projectCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else throw e;
}
