import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { AGENT_ENV, AGENT_NODE_FLAGS } from '@hearth/agent/defaults';
import { DEFAULT_CONFIG_PATH } from '@hearth/contract/host-config';
import { UsageError } from '../usage-error.ts';
import { reportError } from '../output.ts';

type Role = 'manager' | 'agent';

/** A file `hearth install` writes: where (under the prefix) and what. */
export interface InstallFile {
  path: string;
  content: string;
  /** Written only when absent (the configuration file: an operator's edits stay). */
  keep?: boolean;
  mode?: number;
}

/**
 * The systemd unit of a role. The command is this very `hearth`: the Node.js binary and the bin
 * script running now, by absolute path, so the unit runs the installation it was written from
 * (an upgrade replaces those files and restarts the unit).
 */
export function unitFor(role: Role, o: { node: string; bin: string; config: string }): string {
  const flags = role === 'agent' ? [...AGENT_NODE_FLAGS, ''].join(' ') : '';
  const common = [
    '[Service]',
    'Type=simple',
    `ExecStart=${o.node} ${flags}${o.bin} ${role} --config ${o.config}`,
    // journald takes stdout; the logs are JSON lines there (no terminal).
    'StandardOutput=journal',
    'StandardError=journal',
    'SyslogIdentifier=hearth-' + role,
    'Restart=on-failure',
    'RestartSec=2s',
    // Requests and VM operations in flight finish before the process exits (bounded at 30 s).
    'TimeoutStopSec=45s',
    'LimitNOFILE=1048576',
  ];
  if (role === 'manager') {
    return [
      '[Unit]',
      'Description=Hearth manager (API, dashboard, scheduler)',
      'Wants=network-online.target',
      'After=network-online.target postgresql.service',
      '',
      ...common,
      '',
      '[Install]',
      'WantedBy=multi-user.target',
      '',
    ].join('\n');
  }
  return [
    '[Unit]',
    'Description=Hearth agent (runs the microVMs of this host)',
    'Wants=network-online.target',
    'After=network-online.target hearth-manager.service',
    '',
    ...common,
    // The VMMs (QEMU, Firecracker) are child processes of the agent, in its control group. The
    // default KillMode (control-group) would kill every VM whenever the agent stops or restarts
    // (an upgrade, a crash): only the agent process is signalled, and the next agent adopts the
    // VMs still running (docs/install.md, "Upgrades").
    'KillMode=process',
    ...Object.entries(AGENT_ENV).map(([k, v]) => `Environment=${k}=${v}`),
    // Bridges, TAPs, nftables and /dev/kvm: the agent runs as root.
    'User=root',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** The commented configuration file written on first install (every key is in docs/install.md). */
export function defaultConfigFile(): string {
  return [
    '# Hearth host configuration (docs/install.md lists every key and its environment variable).',
    '# Environment variables override this file; command-line flags override both.',
    'dataDir: /var/lib/hearth',
    'log:',
    '  level: info',
    '  format: auto # auto: readable on a terminal, JSON lines under systemd',
    'manager:',
    '  listen: 127.0.0.1',
    '  port: 18080',
    '  # databaseUrl: postgres://hearth@db.example/hearth  # unset: the embedded database',
    'agent:',
    '  manager: http://127.0.0.1:18080 # the manager this host joins (on another host: its URL)',
    '  # joinToken: <from `hearth host join-token`>  # or HEARTH_JOIN_TOKEN',
    '  listen: 127.0.0.1',
    '  port: 18081',
    '',
  ].join('\n');
}

/** What `hearth install <role>` writes, with `prefix` prepended to every path (tests, packaging). */
export function installPlan(role: Role, o: { prefix: string; node: string; bin: string }): InstallFile[] {
  const unit = join(o.prefix, '/etc/systemd/system', `hearth-${role}.service`);
  const config = join(o.prefix, DEFAULT_CONFIG_PATH);
  return [
    { path: config, content: defaultConfigFile(), keep: true, mode: 0o640 },
    { path: unit, content: unitFor(role, { node: o.node, bin: o.bin, config }), mode: 0o644 },
  ];
}

/** Whether systemd runs this machine (PID 1), so `systemctl` can load and start units. */
function systemdRuns(): boolean {
  return existsSync('/run/systemd/system');
}

export function installCommand(program: Command): void {
  program
    .command('install')
    .description('Write the systemd unit of the manager or the agent (and /etc/hearth/hearth.yaml if absent)')
    .argument('<role>', 'manager | agent')
    .option('--prefix <dir>', 'write under this directory instead of / (packaging, tests)', '')
    .option('--dry-run', 'print what would be written; write nothing')
    .option('--enable', 'then `systemctl daemon-reload` and `systemctl enable --now` the unit')
    .action(async (role: string, o: { prefix: string; dryRun?: boolean; enable?: boolean }) => {
      try {
        if (role !== 'manager' && role !== 'agent') {
          throw new UsageError(`"${role}" is neither manager nor agent.`);
        }
        const plan = installPlan(role, {
          prefix: o.prefix,
          node: process.execPath,
          bin: realpathSync(process.argv[1]!),
        });
        for (const f of plan) {
          const exists = existsSync(f.path);
          if (o.dryRun) {
            process.stdout.write(`# ${f.path}${f.keep && exists ? ' (exists: kept)' : ''}\n${f.content}\n`);
            continue;
          }
          if (f.keep && exists) {
            process.stderr.write(`kept ${f.path} (exists)\n`);
            continue;
          }
          await mkdir(dirname(f.path), { recursive: true });
          await writeFile(f.path, f.content, { mode: f.mode ?? 0o644 });
          process.stderr.write(`wrote ${f.path}\n`);
        }
        if (o.dryRun) return;
        const unit = `hearth-${role}.service`;
        if (o.enable) {
          if (o.prefix || !systemdRuns()) {
            throw new UsageError('--enable needs systemd running this machine and no --prefix.');
          }
          execFileSync('systemctl', ['daemon-reload'], { stdio: 'inherit' });
          execFileSync('systemctl', ['enable', '--now', unit], { stdio: 'inherit' });
        } else {
          process.stderr.write(
            `next: edit ${plan[0]!.path}, then \`systemctl daemon-reload && systemctl enable --now ${unit}\`\n`,
          );
        }
      } catch (e) {
        process.exitCode = reportError(e, false);
      }
    });
}

/** The unit files present (for `hearth upgrade`): which services to restart. */
export async function installedUnits(prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const role of ['manager', 'agent'] as const) {
    const path = join(prefix, '/etc/systemd/system', `hearth-${role}.service`);
    if (
      await readFile(path, 'utf8').then(
        () => true,
        () => false,
      )
    )
      out.push(`hearth-${role}.service`);
  }
  return out;
}
