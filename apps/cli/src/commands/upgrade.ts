import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../usage-error.ts';
import { reportError } from '../output.ts';
import { installedUnits } from './install.ts';

/**
 * `hearth upgrade <tarball>`: installs a release over this one (`npm install -g`) and restarts the
 * installed units, manager first (it runs the database migrations, once, under a lock), then the
 * agent. The agent's unit has KillMode=process: its restart leaves the VMs running and the new
 * agent adopts them (docs/install.md, "Upgrades").
 */
export function upgradeCommand(program: Command): void {
  program
    .command('upgrade')
    .description('Install a release tarball over this installation and restart its systemd units')
    .argument('<tarball>', 'hearth-<version>.tgz built by `npm run release`')
    .option('--dry-run', 'print the commands; run nothing')
    .option('--no-restart', 'install only; restart the units yourself')
    .action(async (tarball: string, o: { dryRun?: boolean; restart: boolean }) => {
      try {
        const file = resolve(tarball);
        if (!existsSync(file)) throw new UsageError(`${file} does not exist.`);
        const steps: string[][] = [['npm', 'install', '-g', '--offline', '--no-audit', '--no-fund', file]];
        const units = o.restart ? await installedUnits() : [];
        if (units.length) steps.push(['systemctl', 'daemon-reload']);
        for (const u of units) steps.push(['systemctl', 'try-restart', u]);
        for (const s of steps) {
          process.stderr.write(`${o.dryRun ? 'would run' : 'running'}: ${s.join(' ')}\n`);
          if (!o.dryRun) execFileSync(s[0]!, s.slice(1), { stdio: 'inherit' });
        }
      } catch (e) {
        process.exitCode = reportError(e, false);
      }
    });
}
