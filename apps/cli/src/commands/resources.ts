import type { Command } from 'commander';
import { act } from './vm.ts';
import { imageCommands } from './images.ts';
import { hostCommands } from './host.ts';
import { labelText } from './host-placement.ts';
import { hostLifecycleCommands } from './host-lifecycle.ts';
import { printJson } from '../output.ts';
import { duration, table } from '../format.ts';

/** `hearth host ls` and `hearth image ls`: read-only views of what the manager knows. */
export function resourceCommands(program: Command): void {
  const host = program.command('host').description('Hosts running an agent');
  host
    .command('list')
    .alias('ls')
    .description('List hosts with capacity, allocation and usable VMMs')
    .action(
      act(program, async (c, json) => {
        const hosts = await c.all('listHosts');
        if (json) return printJson(hosts);
        const now = Date.now();
        console.log(
          table(
            ['NAME', 'ID', 'STATE', 'CPUS', 'MEMORY', 'VMS', 'ALLOCATED', 'LABELS', 'VMMS', 'LAST HEARTBEAT'],
            hosts.map((h) => [
              h.name,
              h.id,
              h.cordoned ? `${h.state},cordoned` : h.state,
              String(h.inventory.cpus),
              `${h.inventory.memoryFreeMib}/${h.inventory.memoryMib}MiB free`,
              String(h.vmCount),
              `${h.allocatedVcpus} vCPU, ${h.allocatedMemoryMib}MiB, ${h.allocatedDiskMib}MiB disk`,
              labelText(h.labels),
              h.inventory.vmms
                .filter((v) => v.available)
                .map((v) => `${v.kind}/${v.accel}`)
                .join(',') || 'none',
              `${duration(Math.round((now - Date.parse(h.lastHeartbeatAt)) / 1000))} ago`,
            ]),
          ),
        );
      }),
    );

  hostCommands(program, host);
  hostLifecycleCommands(program, host);

  const image = program.command('image').description('Kernels, initrds and rootfs images');
  imageCommands(program, image);
  image
    .command('list')
    .alias('ls')
    .description('List images')
    .action(
      act(program, async (c, json) => {
        const images = await c.all('listImages');
        if (json) return printJson(images);
        console.log(
          table(
            ['NAME', 'ID', 'KIND', 'FORMAT', 'STATUS', 'SIZE', 'SHA256', 'VMS', 'SOURCE'],
            images.map((i) => [
              i.name,
              i.id,
              i.kind,
              i.format,
              i.status,
              `${(i.sizeBytes / 2 ** 20).toFixed(1)}MiB`,
              i.sha256.slice(0, 12),
              String(i.usedBy.length),
              i.source.length > 48 ? `${i.source.slice(0, 45)}...` : i.source,
            ]),
          ),
        );
      }),
    );
}
