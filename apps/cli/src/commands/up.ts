import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import type { RunningManager } from '@hearth/manager';
import { AGENT_ENV, AGENT_NODE_FLAGS } from '@hearth/agent/defaults';
import { reportError } from '../output.ts';
import { superviseAgent } from '../agent-process.ts';
import { hostLogger } from '../host-log.ts';
import { CONFIG_OPTION, serverConfig, startHostManager } from './manager.ts';

interface UpOptions {
  config?: string;
  port?: string;
  host?: string;
  bridge?: string;
  cidr?: string;
  network: boolean;
  demo?: boolean;
}

export function upCommand(program: Command): void {
  program
    .command('up')
    .description(
      'Single-machine mode: manager (embedded database unless DATABASE_URL is set) and a local agent',
    )
    // No defaults here: the configuration file and the environment come between (docs/install.md).
    .option('--port <port>', 'API port (manager.port, default 18080)')
    .option('--host <host>', 'listen address (manager.listen, default 127.0.0.1)')
    .option('--bridge <name>', 'bridge of the default NAT network (manager.network.bridge, default hearth0)')
    .option(
      '--cidr <cidr>',
      'subnet of the default NAT network (manager.network.cidr, default 10.213.0.0/24)',
    )
    .option('--no-network', 'boot VMs without a NIC')
    .option('--demo', 'boot a first VM named "hello" unless one exists')
    .option(...CONFIG_OPTION)
    .action(async (o: UpOptions) => {
      let log: Logger | null = null;
      try {
        const cfg = await serverConfig(program, o.config, {
          'manager.port': o.port,
          'manager.listen': o.host,
          'manager.network.bridge': o.bridge,
          'manager.network.cidr': o.cidr,
          'manager.network.enabled': o.network ? undefined : false,
        });
        const dataDir = cfg.dataDir;
        const net = cfg.manager.network;
        log = await hostLogger(cfg.log);
        const manager = await startHostManager(cfg, log, {
          notReadyUntilSet: 'the local agent has not registered yet',
        });
        // The agent is a process of its own, so a fault in it never takes the API down.
        const agent = superviseAgent({
          argv: [
            process.execPath,
            ...process.execArgv,
            ...AGENT_NODE_FLAGS,
            process.argv[1]!,
            '--data-dir',
            dataDir,
            'agent',
            ...(o.config ? ['--config', o.config] : []),
            '--manager',
            manager.url,
            '--listen',
            '127.0.0.1',
            '--port',
            '0',
            ...(net.enabled ? ['--bridge', net.bridge, '--cidr', net.cidr] : []),
          ],
          // Not on the command line, where every user of the machine could read it.
          env: { ...process.env, ...AGENT_ENV, HEARTH_JOIN_TOKEN: manager.joinToken },
          log: log.child({ service: 'up' }),
          onUp: () => manager.setReady(null),
          onDown: (why) => manager.setReady(`the local agent is restarting (it exited: ${why})`),
        });
        let stopping = false;
        const stop = async () => {
          if (stopping) return process.exit(130);
          stopping = true;
          process.stderr.write(
            'Stopping: operations in flight finish first (Ctrl-C again to quit at once).\n',
          );
          // The manager first: its operations in flight still need the agent.
          await manager.dispose();
          await agent.dispose();
          process.exit(0);
        };
        process.on('SIGINT', () => void stop());
        process.on('SIGTERM', () => void stop());
        try {
          await agent.registered;
        } catch (e) {
          await manager.dispose();
          throw e;
        }
        process.stderr.write(
          [
            '',
            `Hearth is up: ${manager.url}  (API docs: ${manager.url}/docs)`,
            `  dashboard:   ${manager.url}/  (sign in as below, or with the admin token)`,
            ...signInLines(manager.firstAdmin, join(dataDir, 'manager', 'admin.password')),
            `  database:    ${manager.db.kind}${manager.db.kind === 'pglite' ? ` in ${join(dataDir, 'manager', 'db')}` : ''}`,
            `  admin token: ${join(dataDir, 'admin.token')}`,
            `  try:         npx hearth ls && npx hearth create --name demo && npx hearth exec demo -- uname -a`,
            '  Ctrl-C stops the manager and agent; running VMs keep running and are adopted by the next `up`.',
            '',
          ].join('\n'),
        );
        if (o.demo) void bootDemo(manager.vmService);
      } catch (e) {
        process.exitCode = reportError(e, false);
        log?.flush();
        setTimeout(() => process.exit(process.exitCode ?? 1), 50).unref();
      }
    });
}

/**
 * How to sign in: user `admin`, with the one-time password when this start just generated it.
 * It is printed once, here, for the operator at the terminal (never logged), and kept 0600 in
 * the data directory for later.
 */
function signInLines(first: RunningManager['firstAdmin'], passwordFile: string): string[] {
  if (first?.password) {
    return [
      `  sign in:     user ${first.name}, one-time password ${first.password}`,
      `               (also in ${first.passwordFile ?? passwordFile}, readable by this user only)`,
    ];
  }
  if (first) return [`  sign in:     user ${first.name}, with the password from HEARTH_ADMIN_PASSWORD`];
  if (existsSync(passwordFile)) {
    return [`  sign in:     user admin, with the one-time password in ${passwordFile}`];
  }
  return [`  sign in:     your user name and password (the first administrator is "admin")`];
}

/** The first VM `scripts/up.sh` boots, so a new user sees one running at once. */
const DEMO_VM = 'hello';

async function bootDemo(vms: RunningManager['vmService']): Promise<void> {
  const existing = await vms.get(DEMO_VM, 'default').catch(() => null);
  if (existing) {
    process.stderr.write(`VM "${DEMO_VM}" exists (${existing.state}); \`npx hearth ls\` lists it.\n`);
    return;
  }
  try {
    const t0 = Date.now();
    const vm = await vms.create(
      { name: DEMO_VM, project: 'default', vcpus: 1, memoryMib: 128, start: true },
      'default',
      'up --demo',
    );
    const up = await vms.wait(vm.id, 'default', 'running', 300);
    process.stderr.write(
      `VM "${DEMO_VM}" running in ${Date.now() - t0} ms at ${up.ip ?? 'no ip'}: \`npx hearth connect ${DEMO_VM}\` opens a shell, \`npx hearth logs ${DEMO_VM}\` shows its console.\n`,
    );
  } catch (e) {
    process.stderr.write(`VM "${DEMO_VM}" did not start: ${(e as Error).message}\n`);
  }
}
