import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { UsageError } from '../usage-error.ts';
import { printJson } from '../output.ts';
import { act, summary, waitFor } from './vm.ts';

/** `hearth vm export|import`: a VM moved between installations as one tar (docs/backups.md). */
export function vmExportCommands(program: Command): void {
  const vm = program.command('vm').description('VM archives: export a VM, import it into another manager');

  vm.command('export <vm>')
    .description('Write the VM (config, disk, optionally image and memory) as a tar archive')
    .option('--out <file>', 'archive to write (default: standard output)')
    .option('--snapshot', 'export a running VM through a snapshot taken for it (consistent copy)')
    .option(
      '--memory',
      'include the memory state: import resumes the VM (implies --snapshot; same QEMU version only)',
    )
    .option('--with-image', 'include the rootfs image file, for a manager that lacks it')
    .action(
      act(
        program,
        async (
          c,
          json,
          id: string,
          o: { out?: string; snapshot?: boolean; memory?: boolean; withImage?: boolean },
        ) => {
          if (!o.out && process.stdout.isTTY)
            throw new UsageError(
              'Refusing to write a tar archive to a terminal: redirect it (> vm.tar) or give --out.',
            );
          const started = Date.now();
          const res = await c.raw('exportVm', {
            params: { id },
            body: {
              snapshot: Boolean(o.snapshot),
              memory: Boolean(o.memory),
              withImage: Boolean(o.withImage),
            },
          });
          const body = Readable.fromWeb(res.body as never);
          if (!o.out || o.out === '-') return pipeline(body, process.stdout);
          // Written beside, renamed when complete: a failed export never looks like a good one.
          const part = `${o.out}.part`;
          try {
            await pipeline(body, createWriteStream(part, { mode: 0o600 }));
            await rename(part, o.out);
          } catch (e) {
            await rm(part, { force: true });
            throw e;
          }
          const ms = Date.now() - started;
          if (json) return printJson({ file: o.out, ms });
          console.log(`VM ${id} exported to ${o.out} in ${(ms / 1000).toFixed(1)} s`);
        },
      ),
    );

  vm.command('import <file>')
    .description('Create a VM from an archive of `hearth vm export` (- reads standard input)')
    .option('--name <name>', "the new VM's name (default: the exported VM's)")
    .option('--host <host>', 'place its disk on this host')
    .option('--no-start', 'leave it stopped')
    .option('--wait', 'wait until it runs')
    .action(
      act(
        program,
        async (
          c,
          json,
          file: string,
          o: { name?: string; host?: string; start: boolean; wait?: boolean },
        ) => {
          const body = file === '-' ? process.stdin : createReadStream(file);
          let v = await c
            .raw(
              'importVm',
              {
                query: {
                  ...(o.name ? { name: o.name } : {}),
                  ...(o.host ? { host: o.host } : {}),
                  start: o.start ? 'true' : 'false',
                },
              },
              { body: body as never, headers: { 'content-type': 'application/x-tar' } },
            )
            .then(async (r) => JSON.parse(await r.text()) as Awaited<ReturnType<typeof waitFor>>);
          if (o.wait && o.start) v = await waitFor(c, v.id, 'running', 600);
          if (json) return printJson(v);
          console.log(summary(v));
        },
      ),
    );
}
