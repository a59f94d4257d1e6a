import type { Command } from 'commander';
import type { Volume } from '@hearth/contract';
import { printJson } from '../output.ts';
import { table } from '../format.ts';
import { act } from './vm.ts';

const line = (v: Volume) =>
  `volume ${v.name} (${v.id}): ${v.sizeMib}MiB ${v.format}${v.attachedTo ? `, attached to ${v.attachedTo}` : ', detached'}`;

/** `hearth volume create|ls|attach|detach|resize|rm` */
export function volumeCommands(program: Command): void {
  const vol = program.command('volume').description('Data disks that outlive VMs');
  const one = (
    verb: string,
    fn: (c: Parameters<Parameters<typeof act>[1]>[0], id: string, ...rest: string[]) => Promise<Volume>,
  ) =>
    act(program, async (c, json, id: string, ...rest: unknown[]) => {
      const v = await fn(c, id, ...(rest.filter((x) => typeof x === 'string') as string[]));
      if (json) return printJson(v);
      console.log(`${verb}: ${line(v)}`);
    });

  vol
    .command('create <name>')
    .description('Create a volume (ext4 by default)')
    .option('--size <size>', 'size, e.g. 1gb (default 1gb)')
    .option('--format <format>', 'ext4 or raw', 'ext4')
    .option('--image <image>', 'start from a copy of this rootfs image')
    .action(
      act(
        program,
        async (c, json, name: string, o: { size?: string; format: 'ext4' | 'raw'; image?: string }) => {
          const v = await c.call('createVolume', {
            body: {
              name,
              format: o.format,
              project: c.project ?? undefined,
              ...(o.size ? { size: o.size } : {}),
              ...(o.image ? { image: o.image } : {}),
            },
          });
          if (json) return printJson(v);
          console.log(`created: ${line(v)}`);
        },
      ),
    );
  vol
    .command('list')
    .alias('ls')
    .description('List volumes')
    .action(
      act(program, async (c, json) => {
        const items = await c.all('listVolumes');
        if (json) return printJson(items);
        console.log(
          items.length
            ? table(
                ['NAME', 'ID', 'SIZE', 'FORMAT', 'HOST', 'ATTACHED TO', 'SERIAL'],
                items.map((v) => [
                  v.name,
                  v.id,
                  `${v.sizeMib}MiB`,
                  v.format,
                  v.host,
                  v.attachedTo ?? '-',
                  v.serial,
                ]),
              )
            : 'No volumes yet. Create one with `hearth volume create data --size 1gb`.',
        );
      }),
    );
  vol
    .command('attach <volume> <vm>')
    .description('Attach to a stopped VM (it sees the disk at its next start)')
    .option('--read-only', 'attach read-only')
    .action(
      act(program, async (c, json, id: string, vm: string, o: { readOnly?: boolean }) => {
        const v = await c.call('attachVolume', {
          params: { id },
          body: { vm, readOnly: Boolean(o.readOnly) },
        });
        if (json) return printJson(v);
        console.log(`attached: ${line(v)}`);
      }),
    );
  vol
    .command('detach <volume>')
    .description('Detach from its stopped VM')
    .action(one('detached', (c, id) => c.call('detachVolume', { params: { id } })));
  vol
    .command('resize <volume> <size>')
    .description('Grow a volume (and its ext4 filesystem)')
    .action(
      one('resized', (c, id, size) => c.call('resizeVolume', { params: { id }, body: { size: size! } })),
    );
  vol
    .command('delete <volume>')
    .alias('rm')
    .description('Delete a detached volume and its data')
    .action(one('deleted', (c, id) => c.call('deleteVolume', { params: { id } })));
}
