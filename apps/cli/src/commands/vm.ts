import type { Command } from 'commander';
import { HearthError, RUNTIME_ALIASES, RUNTIMES, type Vm, type VmState } from '@hearth/contract';
import type { HearthClient } from '@hearth/sdk';
import { resolveClient } from '../config.ts';
import { UsageError } from '../usage-error.ts';
import { parseEgress, parseNetworks } from './network.ts';
import { printJson, reportError } from '../output.ts';
import { table, vmTable } from '../format.ts';
import { runTerminal, shellTarget } from './terminal.ts';
import { readKeys, readUserData, rootfsImage } from './create-inputs.ts';
import { poolVerdict, vmDetails } from '../vm-text.ts';
import { labelPairs } from './host-placement.ts';
import {
  commaList,
  parseBandwidth,
  parseDisk,
  parsePublishPorts,
  parseTimeout,
  vmsanEgress,
} from '../vmsan-flags.ts';

interface Global {
  json?: boolean;
  dataDir?: string;
  /** The global `--project`: every verb acts in it (sent as X-Hearth-Project). */
  project?: string;
}

/** Wraps an action: client from config, errors reported with documented exit codes. */
export function act<A extends unknown[]>(
  program: Command,
  fn: (c: HearthClient, json: boolean, ...args: A) => Promise<void>,
) {
  return async (...args: A) => {
    const g = program.opts<Global>();
    try {
      await fn(resolveClient({ dataDir: g.dataDir, project: g.project }), Boolean(g.json), ...args);
    } catch (e) {
      process.exitCode = reportError(e, Boolean(g.json));
    }
  };
}

export async function waitFor(c: HearthClient, id: string, state: VmState, timeoutS: number): Promise<Vm> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const left = Math.max(1, Math.min(60, Math.ceil((deadline - Date.now()) / 1000)));
    try {
      return await c.call('waitVm', { params: { id }, query: { state, timeout: left } });
    } catch (e) {
      if (!(e instanceof HearthError && e.code === 'WAIT_TIMEOUT') || Date.now() >= deadline) throw e;
    }
  }
}

export function summary(v: Vm): string {
  return `${v.name} (${v.id}) is ${v.state}${v.ip ? `, ip ${v.ip}` : ''}${v.stateReason ? ` — ${v.stateReason.split('\n')[0]}` : ''}`;
}

/** --publish HOST:GUEST[/udp], repeatable. */
export function parsePublish(items: string[]): { host: number; guest: number; protocol: 'tcp' | 'udp' }[] {
  return items.map((item) => {
    const m = /^(\d{1,5}):(\d{1,5})(?:\/(tcp|udp))?$/.exec(item.trim());
    const host = Number(m?.[1]);
    const guest = Number(m?.[2]);
    if (!m || host < 1 || host > 65535 || guest < 1 || guest > 65535) {
      throw new UsageError(`--publish ${item} must look like HOSTPORT:GUESTPORT or HOSTPORT:GUESTPORT/udp.`);
    }
    return { host, guest, protocol: (m[3] ?? 'tcp') as 'tcp' | 'udp' };
  });
}

/** --publish HOST:GUEST and vmsan's --publish-port N (host port N to guest port N), together. */
function ports(o: Record<string, unknown>) {
  return [
    ...(o.publish ? parsePublish(o.publish as string[]) : []),
    ...(o.publishPort ? parsePublishPorts(o.publishPort as string[]) : []),
  ];
}

/** Hearth's --egress/--allow/--deny or vmsan's --network-policy and lists; not both. */
function egressOf(o: Record<string, unknown>) {
  const vmsan = vmsanEgress({
    networkPolicy: o.networkPolicy as string | undefined,
    allowedDomain: o.allowedDomain as string[] | undefined,
    allowedCidr: o.allowedCidr as string[] | undefined,
    deniedCidr: o.deniedCidr as string[] | undefined,
  });
  if (vmsan && (o.egress !== undefined || o.allow !== undefined || o.deny !== undefined)) {
    throw new UsageError(
      'Use either --egress/--allow/--deny or --network-policy/--allowed-domain/--allowed-cidr/--denied-cidr, not both.',
    );
  }
  return vmsan ?? parseEgress(o);
}

export function vmCommands(program: Command): void {
  program
    .command('create')
    .description('Create a VM and wait until it is running')
    .option('--name <name>', 'VM name (unique per project)')
    .option('--vcpus <n>', 'virtual CPUs', (v) => Number(v))
    .option('--memory <mib>', 'memory in MiB', (v) => Number(v))
    .option('--disk <size>', 'root disk size, e.g. 10gb (a bare number is GB)')
    .option('--image <image>', 'rootfs image id or name (default: base)')
    .option('--kernel <kernel>', 'kernel image id or name')
    .option('--timeout <duration>', 'stop automatically after this long, e.g. 30m or 2h30m')
    .option(
      '--restart-policy <policy>',
      'when its host is declared dead: always (restart on another host) or no (lost)',
    )
    .option(
      '--drain-policy <policy>',
      'when its host is drained: migrate (live, else stop/cold move/start), stop (move cold, stay stopped) or stay',
    )
    .option('--env <KEY=VALUE...>', 'environment for the guest')
    .option('--vmm <vmm>', 'firecracker or qemu (default: best available)')
    .option('--no-start', 'only create the record')
    .option('--no-wait', 'return as soon as the VM is accepted')
    .option('--wait-timeout <seconds>', 'how long to wait for running', (v) => Number(v), 300)
    .option(
      '--runtime <runtime>',
      `runtime rootfs: ${RUNTIMES.join(', ')} (built on first use; ${Object.entries(RUNTIME_ALIASES)
        .map(([a, rt]) => `${a} = ${rt}`)
        .join(', ')})`,
    )
    .option('--from-image <ref>', 'OCI image reference, imported (or reused) before the VM is created')
    .option(
      '--snapshot <id>',
      'clone from this snapshot (its resources, disk and memory; a new name and address)',
    )
    .option('--publish <ports...>', 'publish ports HOST:GUEST[/udp] on the VM host, e.g. 8080:80')
    .option(
      '--publish-port <ports>',
      'publish guest ports on the same host ports (TCP), e.g. 8080,3000',
      commaList,
    )
    .option(
      '--network <net...>',
      'NIC on this network (name, or NAME=IP for a fixed address); repeat for more NICs',
    )
    .option('--egress <default>', 'egress policy default: allow or deny')
    .option('--allow <cidr...>', 'egress: destinations always allowed')
    .option('--deny <cidr...>', 'egress: destinations always denied')
    .option('--network-policy <policy>', 'allow-all (default), deny-all or custom (set by the lists below)')
    .option(
      '--allowed-domain <names>',
      'egress: names allowed as they resolve, e.g. a.com,*.b.com',
      commaList,
    )
    .option('--allowed-cidr <cidrs>', 'egress: destinations allowed (comma-separated CIDRs)', commaList)
    .option(
      '--denied-cidr <cidrs>',
      'egress: destinations denied, over any allow (comma-separated CIDRs)',
      commaList,
    )
    .option(
      '--bandwidth <rate>',
      'rate limit per NIC, each direction: 50mbit, 1gbit (a bare number is Mbit/s)',
    )
    .option('--silent', 'print nothing on success (errors still go to stderr)')
    .option('--connect', 'open a shell in the VM once it is running')
    .option('--user <user>', 'guest account to set up at boot (default root)')
    .option('--password <password>', "password for --user (stored only as a hash in the guest's /etc/shadow)")
    .option('--ssh-key <key...>', 'public key (a key line or a .pub file) for ~/.ssh/authorized_keys')
    .option(
      '--user-data <file>',
      "cloud-init user data for images that run cloud-init (debian-12/13); '-' reads stdin",
    )
    .option('--host-selector <k=v...>', 'only hosts carrying this label (repeatable: all must match)')
    .option('--anti-affinity <group>', 'no two VMs of this group (in the project) on one host')
    .option('--placement <strategy>', "spread or pack (default: the manager's)")
    .option(
      '--pool <pool>',
      'take a VM booted ahead of time from this warm pool (its image, size and network); an empty pool boots normally',
    )
    .action(
      act(program, async (c, json, o: Record<string, unknown>) => {
        if (o.connect && o.silent) throw new UsageError('--connect opens a shell: it cannot be --silent.');
        const quiet = json || Boolean(o.silent);
        const env = Object.fromEntries(
          ((o.env as string[] | undefined) ?? []).map((kv) => {
            const i = kv.indexOf('=');
            if (i < 1) throw new UsageError(`--env ${kv} must look like KEY=VALUE.`);
            return [kv.slice(0, i), kv.slice(i + 1)];
          }),
        );
        const body = {
          name: o.name as string | undefined,
          vcpus: o.vcpus as number | undefined,
          memoryMib: o.memory as number | undefined,
          diskSize: o.disk !== undefined ? parseDisk(String(o.disk)) : undefined,
          image: await rootfsImage(c, o, quiet),
          kernel: o.kernel as string | undefined,
          // The same project as the X-Hearth-Project header the client sends (the global --project).
          project: c.project ?? undefined,
          timeout: o.timeout !== undefined ? parseTimeout(String(o.timeout)) : undefined,
          vmm: o.vmm as 'qemu' | 'firecracker' | undefined,
          restartPolicy: o.restartPolicy as 'no' | 'always' | undefined,
          drainPolicy: o.drainPolicy as 'migrate' | 'stop' | 'stay' | undefined,
          env: Object.keys(env).length ? env : undefined,
          start: o.start as boolean,
          user: o.user as string | undefined,
          password: o.password as string | undefined,
          sshKeys: o.sshKey ? await readKeys(o.sshKey as string[]) : undefined,
          userData: o.userData !== undefined ? await readUserData(String(o.userData)) : undefined,
          snapshot: o.snapshot as string | undefined,
          ports: o.publish || o.publishPort ? ports(o) : undefined,
          networks: o.network ? parseNetworks(o.network as string[]) : undefined,
          egress: egressOf(o),
          bandwidthMbit: o.bandwidth !== undefined ? parseBandwidth(String(o.bandwidth)) : undefined,
          pool: o.pool as string | undefined,
          hostSelector: o.hostSelector
            ? labelPairs(o.hostSelector as string[], '--host-selector')
            : undefined,
          antiAffinityGroup: o.antiAffinity as string | undefined,
          placementStrategy: o.placement as 'spread' | 'pack' | undefined,
        };
        if (o.connect && (!o.start || !o.wait))
          throw new UsageError('--connect needs the VM started and waited for.');

        let vm = await c.call('createVm', {
          body: Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)),
        });
        if (o.start && o.wait) vm = await waitFor(c, vm.id, 'running', o.waitTimeout as number);
        const verdict = o.pool ? poolVerdict(String(o.pool), vm) : null;
        if (o.connect) {
          process.stderr.write(`${summary(vm)}\r\n${verdict ? `${verdict}\r\n` : ''}`);
          const target = shellTarget(c, vm.id, o.user ? { user: o.user as string } : {});
          process.exitCode = await runTerminal(target, { resize: true });
          return;
        }
        if (json && !o.silent) printJson(vm);
        else if (!quiet) console.log(verdict ? `${summary(vm)}\n${verdict}` : summary(vm));
      }),
    );

  program
    .command('list')
    .alias('ls')
    .description('List VMs')
    .option('--state <state>', 'only VMs in this state')
    .action(
      act(program, async (c, json, o: { state?: VmState }) => {
        const vms = await c.all('listVms', { state: o.state, project: c.project ?? undefined });
        if (json) return printJson(vms);
        const hosts = await c.all('listHosts');
        console.log(
          vms.length
            ? vmTable(vms, new Map(hosts.map((h) => [h.id, h.name])))
            : 'No VMs yet. Create one with `hearth create --name demo`.',
        );
      }),
    );

  program
    .command('events <vm>')
    .description("Print a VM's state transitions")
    .action(
      act(program, async (c, json, id: string) => {
        const page = await c.call('vmEvents', { params: { id }, query: { limit: 500 } });
        if (json) return printJson(page.items);
        console.log(
          table(
            ['AT', 'TYPE', 'FROM', 'TO', 'ACTOR', 'REASON'],
            page.items.map((e) => [
              e.at,
              e.type,
              e.from ?? '-',
              e.to ?? '-',
              e.actor,
              (e.reason ?? '').split('\n')[0]!,
            ]),
          ),
        );
      }),
    );
}

/**
 * The VM side of the verbs VMs share with containers (`start`, `stop`, `rm`, `inspect`,
 * `logs`…): commands/shared-verbs.ts registers them and calls these when the name is no container's.
 */
export async function vmInspect(c: HearthClient, json: boolean, id: string): Promise<void> {
  const vm = await c.call('getVm', { params: { id } });
  if (json) return printJson(vm);
  const host = vm.host ? await c.call('getHost', { params: { id: vm.host } }).catch(() => null) : null;
  console.log(vmDetails(vm, host?.name ?? null));
}

const LIFECYCLE = {
  start: ['startVm', 'running'],
  pause: ['pauseVm', 'paused'],
  resume: ['resumeVm', 'running'],
  restart: ['restartVm', 'running'],
} as const;

export async function vmLifecycle(
  c: HearthClient,
  json: boolean,
  verb: keyof typeof LIFECYCLE,
  id: string,
  wait: boolean,
): Promise<void> {
  const [route, target] = LIFECYCLE[verb];
  let vm = await c.call(route, { params: { id } });
  if (wait) vm = await waitFor(c, vm.id, target, 300);
  if (json) printJson(vm);
  else console.log(summary(vm));
}

export async function vmStop(
  c: HearthClient,
  json: boolean,
  id: string,
  o: { force?: boolean; timeout?: number; wait: boolean },
): Promise<void> {
  const timeout = o.timeout ?? 30;
  let vm = await c.call('stopVm', {
    params: { id },
    body: { force: Boolean(o.force), timeoutSeconds: timeout },
  });
  if (o.wait) vm = await waitFor(c, vm.id, 'stopped', timeout + 60);
  if (json) printJson(vm);
  else console.log(summary(vm));
}

export async function vmRemove(c: HearthClient, json: boolean, id: string, wait: boolean): Promise<Vm> {
  const vm = await c.call('deleteVm', { params: { id } });
  if (wait) {
    await waitFor(c, vm.id, 'stopped', 300).catch((e: unknown) => {
      if (!(e instanceof HearthError && e.code === 'VM_NOT_FOUND')) throw e;
    });
  }
  if (!json) console.log(`${vm.name} (${vm.id}) deleted`);
  return vm;
}

/** The VM's serial console log, the last `tail` bytes. */
export async function vmConsoleLog(c: HearthClient, id: string, tail: number): Promise<void> {
  process.stdout.write(await c.call('vmLogs', { params: { id }, query: { tail } }));
}
