import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import type { HostConfig } from '@hearth/contract/host-config';
import type { RunningManager } from '@hearth/manager';
import { AGENT_DEFAULTS } from '@hearth/agent/defaults';
import { reportError } from '../output.ts';
import { loadHostConfig } from '../host-config.ts';
import { hostLogger } from '../host-log.ts';
import { HEARTH_VERSION } from '../version.ts';

/**
 * The configuration file option of the server verbs. Each verb has its own: a global `--config`
 * would take `hearth ssh --config` (which prints an OpenSSH config block) for itself.
 */
export const CONFIG_OPTION = [
  '--config <file>',
  'configuration file (default: $HEARTH_CONFIG or /etc/hearth/hearth.yaml; docs/install.md)',
] as const;

/** The configuration of a server verb: its `--config`, the global `--data-dir` and its own flags. */
export function serverConfig(
  program: Command,
  config: string | undefined,
  flags: Record<string, unknown>,
): Promise<HostConfig> {
  const g = program.opts<{ dataDir?: string }>();
  return loadHostConfig({ path: config, flags: { dataDir: g.dataDir, ...flags } });
}

/**
 * Starts the manager from the configuration (`hearth manager`, and the manager half of `hearth
 * up`), and records where it listens and the bootstrap admin token in the data directory for the
 * CLI on this machine.
 */
export async function startHostManager(
  cfg: HostConfig,
  log: Logger,
  extra: { notReadyUntilSet?: string } = {},
): Promise<RunningManager> {
  const { startManager, oidcConfigFromEnv } = await import('@hearth/manager');
  const m = cfg.manager;
  const net = m.network;
  const manager = await startManager({
    dataDir: join(cfg.dataDir, 'manager'),
    host: m.listen,
    port: m.port,
    databaseUrl: m.databaseUrl ?? null,
    network: net.enabled
      ? { bridge: net.bridge, cidr: net.cidr, dns: net.cidr.replace(/\.\d+\/\d+$/, '.1') }
      : null,
    heartbeatMs: AGENT_DEFAULTS.heartbeatMs,
    log: log.child({ service: 'manager' }),
    version: HEARTH_VERSION,
    allowHostPathImport: m.allowHostPathImport,
    insecureRegistries: m.insecureRegistries,
    ...(m.importAllow ? { importAllow: m.importAllow } : {}),
    memoryPolicy: {
      ...(m.memoryReserveMib !== undefined ? { reserveMib: m.memoryReserveMib } : {}),
      ...(m.vmOverheadMib !== undefined ? { overheadMib: m.vmOverheadMib } : {}),
    },
    diskPolicy: m.diskReserveMib !== undefined ? { reserveMib: m.diskReserveMib } : {},
    placement: {
      ...(m.placementStrategy ? { strategy: m.placementStrategy } : {}),
      ...(m.cpuOvercommit !== undefined ? { cpuOvercommit: m.cpuOvercommit } : {}),
      ...(m.memoryOvercommit !== undefined ? { memoryOvercommit: m.memoryOvercommit } : {}),
    },
    ...(m.adminPassword ? { adminPassword: m.adminPassword } : {}),
    ...(m.auditRetention ? { auditRetention: m.auditRetention } : {}),
    ...(m.idempotencyRetention ? { idempotencyRetention: m.idempotencyRetention } : {}),
    ...(m.e2bDomain ? { e2bDomain: m.e2bDomain } : {}),
    docker: {
      ...(m.docker.socket !== undefined ? { socket: m.docker.socket || null } : {}),
      ...(m.docker.socketMode ? { socketMode: parseInt(m.docker.socketMode, 8) } : {}),
      ...(m.docker.listen !== undefined ? { listen: m.docker.listen || null } : {}),
    },
    // Single sign-on keeps its own variables (docs/identity.md), not file keys.
    oidc: oidcConfigFromEnv(process.env),
    ...extra,
  });
  await writeFile(join(cfg.dataDir, 'manager.json'), JSON.stringify({ url: manager.url }) + '\n');
  // Once the bootstrap admin token is revoked there is none: the CLI uses `hearth login`.
  if (manager.adminToken) {
    await writeFile(join(cfg.dataDir, 'admin.token'), manager.adminToken + '\n', { mode: 0o600 });
  } else await rm(join(cfg.dataDir, 'admin.token'), { force: true });
  return manager;
}

/** The manager alone (its agents run on the hosts as `hearth agent`): what the systemd unit runs. */
export function managerCommand(program: Command): void {
  program
    .command('manager')
    .description('Run the manager alone (API, dashboard, scheduler); hosts join it with `hearth agent`')
    .option('--port <port>', 'API port (manager.port)')
    .option('--host <host>', 'listen address (manager.listen)')
    .option(...CONFIG_OPTION)
    .action(async (o: { port?: string; host?: string; config?: string }) => {
      let log: Logger | null = null;
      try {
        const cfg = await serverConfig(program, o.config, {
          'manager.port': o.port,
          'manager.listen': o.host,
        });
        log = await hostLogger(cfg.log);
        const manager = await startHostManager(cfg, log);
        let stopping = false;
        const stop = async () => {
          if (stopping) return process.exit(130);
          stopping = true;
          await manager.dispose();
          process.exit(0);
        };
        process.on('SIGINT', () => void stop());
        process.on('SIGTERM', () => void stop());
        process.stderr.write(`Hearth manager is up: ${manager.url}\n`);
      } catch (e) {
        process.exitCode = reportError(e, false);
        log?.flush();
        setTimeout(() => process.exit(process.exitCode ?? 1), 50).unref();
      }
    });
}
