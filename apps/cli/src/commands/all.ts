import type { Command } from 'commander';
import { vmCommands } from './vm.ts';
import { upCommand } from './up.ts';
import { doctorCommand } from './doctor.ts';
import { agentCommand } from './agent.ts';
import { resourceCommands } from './resources.ts';
import { accessCommands } from './access.ts';
import { snapshotCommands } from './snapshot.ts';
import { volumeCommands } from './volume.ts';
import { networkCommands } from './network.ts';
import { templateCommands } from './template.ts';
import { poolCommands } from './pool.ts';
import { loginCommands } from './login.ts';
import { tokenCommands } from './token.ts';
import { auditCommand } from './audit.ts';
import { userCommands } from './users.ts';
import { projectCommands } from './projects.ts';
import { sharedVerbs } from './shared-verbs.ts';
import { runCommand } from './run.ts';
import { containerVerbs } from './container-verbs.ts';
import { secretCommands } from './secret.ts';
import { composeCommands } from './compose.ts';

/** Every verb of the CLI, in the order `hearth --help` lists them. */
export function allCommands(program: Command): void {
  upCommand(program);
  vmCommands(program);
  sharedVerbs(program);
  runCommand(program);
  containerVerbs(program);
  composeCommands(program);
  secretCommands(program);
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
}
