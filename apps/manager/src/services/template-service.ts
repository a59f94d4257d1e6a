import {
  CreateVmBody,
  HearthError,
  validationError,
  newId,
  type Template,
  type TemplateSpec,
  type Vm,
} from '@hearth/contract';
import { isUniqueViolation } from '../db/index.ts';
import type { Stores } from '../store/index.ts';
import { templateFromRow } from '../store/templates.ts';
import type { VmService } from './vms/vm-service.ts';
import type { VolumeService } from './volume-service.ts';

/** Templates: saved configurations; instantiating is ordinary creates (validated the same way). */
export class TemplateService {
  constructor(private readonly deps: { stores: Stores; vms: VmService; volumes: VolumeService }) {}

  private get stores() {
    return this.deps.stores;
  }

  async create(body: {
    name: string;
    project: string;
    description: string;
    spec: TemplateSpec;
  }): Promise<Template> {
    try {
      const row = await this.stores.templates.insert({ id: newId('tpl'), ...body });
      return templateFromRow(row);
    } catch (e) {
      if (isUniqueViolation(e, 'templates_project_name')) {
        throw new HearthError('TEMPLATE_NAME_TAKEN', `Saving the template failed: "${body.name}" is taken.`, {
          fields: { name: ['already taken'] },
        });
      }
      throw e;
    }
  }

  /** A VM's configuration as a template: what it was created with, and its volumes' sizes. */
  /** A template of `project` from a VM of that project. */
  async fromVm(
    vmIdOrName: string,
    project: string,
    body: { name: string; description: string },
  ): Promise<Template> {
    const vm = await this.stores.vms.require(vmIdOrName, project);
    const [image, kernel] = await Promise.all([
      this.stores.images.requireUnscoped(vm.image_id),
      this.stores.images.requireUnscoped(vm.kernel_id),
    ]);
    const user = vm.guest?.users?.[0];
    const volumes = await this.stores.volumes.forVm(vm.id);
    const spec: TemplateSpec = {
      vcpus: vm.vcpus,
      memoryMib: vm.memory_mib,
      diskSize: `${vm.disk_mib}mib`,
      image: image.name,
      kernel: kernel.name,
      ...(vm.vmm ? { vmm: vm.vmm } : {}),
      env: vm.env ?? {},
      labels: vm.labels ?? {},
      ...(vm.timeout ? { timeout: vm.timeout } : {}),
      network: 'default',
      ...(vm.nics?.length ? { networks: vm.nics.map((n) => n.networkName) } : {}),
      ...(vm.egress ? { egress: vm.egress } : {}),
      ...(vm.bandwidth_mbit ? { bandwidthMbit: vm.bandwidth_mbit } : {}),
      // Credential policy: the account and its keys travel; a password never does.
      ...(user ? { user: user.name, sshKeys: user.sshKeys } : {}),
      volumes: volumes.map((v) => ({ size: `${v.size_mib}mib`, format: v.format })),
    };
    return this.create({ name: body.name, project: vm.project, description: body.description, spec });
  }

  /** VMs from a template of `project`, in that project. */
  async instantiate(
    idOrName: string,
    project: string,
    body: { count: number; namePrefix?: string | undefined; password?: string | undefined },
    actor: string,
  ): Promise<{ items: Vm[] }> {
    const t = await this.stores.templates.require(idOrName, project);
    const prefix = body.namePrefix ?? t.name;
    const made: Vm[] = [];
    const volumesMade: string[] = [];
    try {
      for (let i = 1; i <= body.count; i++) {
        const { network, networks, volumes, ...fields } = t.spec;
        const withVolumes = volumes.length > 0;
        const parsed = CreateVmBody.safeParse({
          ...fields,
          ...(networks?.length ? { networks } : { network }),
          name: `${prefix}-${i}`,
          project: t.project,
          ...(body.password ? { password: body.password } : {}),
          labels: { ...(fields.labels ?? {}), 'hearth.template': t.name },
          // With volumes, start only once they are attached (neither VMM hot-plugs disks here).
          start: !withVolumes,
        });
        if (!parsed.success)
          throw validationError(`instance ${i} of template "${t.name}"`, parsed.error.issues);
        const input = parsed.data;
        let vm = await this.deps.vms.create(input, t.project, actor);
        made.push(vm);
        if (withVolumes) {
          for (const [j, v] of volumes.entries()) {
            const vol = await this.deps.volumes.create({
              name: `${vm.name}-vol${j + 1}`,
              project: vm.project,
              size: v.size,
              format: v.format,
              // On the instance's own host: volumes attach only there.
              ...(vm.host ? { host: vm.host } : {}),
            });
            volumesMade.push(vol.id);
            await this.deps.volumes.attach(vol.id, vm.project, vm.id, false);
          }
          vm = await this.deps.vms.action(vm.id, vm.project, 'start', actor);
          made[made.length - 1] = vm;
        }
      }
    } catch (e) {
      // All or nothing: what this call made is removed again.
      for (const vm of made) await this.deps.vms.delete(vm.id, vm.project, actor).catch(() => undefined);
      await this.deps.vms.drain();
      for (const id of volumesMade) await this.deps.volumes.delete(id, project).catch(() => undefined);
      throw e;
    }
    return { items: made };
  }
}
