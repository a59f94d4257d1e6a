import { mkdir } from 'node:fs/promises';
import type { Command } from 'commander';
import { defaultDataDir, resolveClient } from '../config.ts';
import { printJson } from '../output.ts';
import { table } from '../format.ts';

export function doctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('Check this host: KVM, Firecracker, QEMU, TAP, nftables, disk; and the manager')
    .action(async () => {
      const g = program.opts<{ json?: boolean; dataDir?: string }>();
      const dataDir = g.dataDir ?? defaultDataDir();
      await mkdir(dataDir, { recursive: true });
      // Loaded on use, like every host-side module: `hearth ls` and friends start without them.
      const [{ collectInventory }, { FirecrackerDriver }, { QemuDriver }] = await Promise.all([
        import('@hearth/agent'),
        import('@hearth/firecracker'),
        import('@hearth/qemu'),
      ]);
      const inv = await collectInventory(dataDir, [new FirecrackerDriver(), new QemuDriver()], {
        maxAgeMs: 0,
      });
      let manager: { ok: boolean; detail: string };
      try {
        const hosts = await resolveClient({ dataDir }).all('listHosts');
        manager = { ok: true, detail: `reachable; ${hosts.length} host(s) registered` };
      } catch (e) {
        manager = { ok: false, detail: (e as Error).message };
      }
      const checks = [...inv.checks, { name: 'manager', ...manager }];
      if (g.json) return printJson({ inventory: inv, checks });
      console.log(
        table(
          ['CHECK', 'OK', 'DETAIL'],
          checks.map((c) => [c.name, c.ok ? 'yes' : 'NO', c.detail]),
        ),
      );
      console.log('');
      console.log(
        table(
          ['VMM', 'AVAILABLE', 'ACCEL', 'VERSION', 'NOTE'],
          inv.vmms.map((v) => [
            v.kind,
            v.available ? 'yes' : 'no',
            v.accel ?? '-',
            v.version ?? '-',
            v.reason ?? '',
          ]),
        ),
      );
      console.log(
        `\nhost: ${inv.cpus} CPUs, ${inv.memoryMib} MiB (${inv.memoryFreeMib} free), ${inv.diskFreeMib} MiB disk free, kernel ${inv.kernel}`,
      );
      const vmmOk = inv.vmms.some((v) => v.available);
      if (!vmmOk) process.exitCode = 1;
    });
}
