import type { AgentVmSpec } from '@hearth/contract';
import type { VmRow } from '../../store/mappers.ts';
import { appFromImage } from '../../images/app-spec.ts';
import type { VmContext } from './context.ts';
import { waitsInPool } from '../../store/pools.ts';

/** The agent's view of a VM: everything it needs to boot it (a snapshot records it for clones). */
export async function agentSpecFor(ctx: VmContext, row: VmRow): Promise<AgentVmSpec> {
  const images = ctx.stores.images;
  // The VM's own images, by id: found whichever project they belong to.
  const [image, kernel] = await Promise.all([
    images.requireUnscoped(row.image_id),
    images.requireUnscoped(row.kernel_id),
  ]);
  const initrdRef = typeof kernel.meta.initrd === 'string' ? kernel.meta.initrd : null;
  // The kernel's reference is resolved where the kernel lives, not where the VM does: a global
  // kernel's (a built-in's, by name) among the global images, a project's kernel's (one carried
  // by a disk image, by id) in that project.
  const initrd = !initrdRef
    ? null
    : kernel.project === null
      ? await images.requireGlobal(initrdRef, 'initrd')
      : await images.requireForUse(initrdRef, kernel.project, 'initrd');
  const asInit = image.meta.init === 'hearth-guest';
  const containerApp = asInit && row.guest?.secret ? await ctx.apps?.appFor(row, image.meta) : undefined;
  return {
    id: row.id,
    name: row.name,
    vcpus: row.vcpus,
    memoryMib: row.memory_mib,
    diskMib: row.disk_mib,
    vmm: row.vmm ?? 'qemu',
    kernel: { id: kernel.id, path: kernel.path, sha256: kernel.sha256 },
    initrd: initrd ? { id: initrd.id, path: initrd.path, sha256: initrd.sha256 } : null,
    rootfs: { id: image.id, path: image.path, sha256: image.sha256 },
    bootMarker: typeof image.meta.bootMarker === 'string' ? image.meta.bootMarker : null,
    // Images without an init of their own (OCI images) boot the guest agent as PID 1.
    bootArgs:
      (typeof kernel.meta.cmdline === 'string' ? kernel.meta.cmdline : 'console=ttyS0 root=/dev/vda rw') +
      (asInit ? ' init=/usr/sbin/hearth-guest' : ''),
    env: row.env,
    guest: row.guest?.secret
      ? {
          secret: row.guest.secret,
          users: row.guest.users ?? [],
          app: asInit
            ? containerApp === undefined
              ? appFromImage(image.meta, row.env)
              : containerApp
            : null,
          ...(row.guest.userData !== undefined ? { userData: row.guest.userData } : {}),
        }
      : null,
    volumes: (await ctx.stores.volumes.forVm(row.id)).map((v) => ({ id: v.id, readOnly: v.read_only })),
    ports: row.ports ?? [],
    nics: row.host_id
      ? await ctx.networks.agentNics(
          { id: row.id, name: row.name, project: row.project, dnsAliases: row.dns_aliases },
          row.host_id,
        )
      : [],
    egress: row.egress ?? null,
    // Waiting in a warm pool: boots and idles on the CPU running work leaves. Sent only when
    // true, so an agent from before the field still accepts every other VM's spec.
    ...(waitsInPool(row) ? { background: true } : {}),
    bandwidthMbit: row.bandwidth_mbit ?? null,
  };
}
