import type { VmmLaunchSpec } from '@hearth/vmm';
import { CONFIG_DRIVE_ID, GUEST_CID, IFACE_ID, ROOT_DRIVE_ID } from './layout.ts';

export interface ApiCall {
  method: 'PUT' | 'PATCH';
  path: string;
  body: unknown;
}

/** What Firecracker is told, as it sees the files (see FcLayout: relative to its cwd). */
export interface ConfigInput {
  spec: VmmLaunchSpec;
  logPath: string;
  metricsPath: string;
  kernelPath: string;
  initrdPath: string | null;
  diskPath: string;
  /** The configuration disk as Firecracker sees it, or null. */
  configDiskPath?: string | null;
  vsockPath: string;
  /** Dirty-page tracking makes Diff snapshots possible at a small runtime cost. */
  trackDirtyPages: boolean;
}

/**
 * Custom boot_args replace Firecracker's defaults wholly, so the parts our guests rely on are
 * added when missing: the serial console (console capture and boot detection read it) and
 * `reboot=k` (a guest reboot goes through the i8042 reset, which ends Firecracker, so the agent
 * sees it). The i8042 flags skip probing for devices Firecracker does not emulate. Firecracker
 * itself appends `pci=off`, the virtio-mmio devices and `root=/dev/vda rw`.
 */
export function firecrackerBootArgs(cmdline: string): string {
  const words = cmdline.split(/\s+/).filter(Boolean);
  const has = (key: string) => words.some((w) => w === key || w.startsWith(`${key}=`));
  const extra: string[] = [];
  if (!words.includes('console=ttyS0')) extra.push('console=ttyS0');
  if (!has('reboot')) extra.push('reboot=k');
  for (const f of ['i8042.noaux', 'i8042.nomux', 'i8042.dumbkbd']) if (!has(f)) extra.push(f);
  return [...words, ...extra].join(' ');
}

/** MMDS contents: what the guest may read at 169.254.169.254 (V2, session tokens). */
export function mmdsData(spec: VmmLaunchSpec): Record<string, unknown> {
  return { hearth: { vmId: spec.vmId, ...(spec.metadata ?? {}) } };
}

/** The pre-boot configuration in Firecracker's documented order, ending with InstanceStart. */
export function configCalls(c: ConfigInput): ApiCall[] {
  const { spec } = c;
  const calls: ApiCall[] = [
    { method: 'PUT', path: '/logger', body: { log_path: c.logPath, level: 'Warning', show_level: true } },
    { method: 'PUT', path: '/metrics', body: { metrics_path: c.metricsPath } },
    {
      method: 'PUT',
      path: '/machine-config',
      body: {
        vcpu_count: spec.vcpus,
        mem_size_mib: spec.memoryMib,
        smt: false,
        track_dirty_pages: c.trackDirtyPages,
      },
    },
    {
      method: 'PUT',
      path: '/boot-source',
      body: {
        kernel_image_path: c.kernelPath,
        boot_args: firecrackerBootArgs(spec.cmdline),
        ...(c.initrdPath ? { initrd_path: c.initrdPath } : {}),
      },
    },
    {
      method: 'PUT',
      path: `/drives/${ROOT_DRIVE_ID}`,
      body: {
        drive_id: ROOT_DRIVE_ID,
        path_on_host: c.diskPath,
        is_root_device: true,
        is_read_only: false,
        // Writeback: the guest's flushes reach the host file, so a clean guest shutdown is durable.
        cache_type: 'Writeback',
      },
    },
  ];
  (spec.volumes ?? []).forEach((v, i) => {
    const id = `vol${i}`;
    calls.push({
      method: 'PUT',
      path: `/drives/${id}`,
      body: {
        drive_id: id,
        path_on_host: v.path,
        is_root_device: false,
        is_read_only: v.readOnly,
        cache_type: 'Writeback',
      },
    });
  });
  if (c.configDiskPath) {
    // Last, after the volumes: their device names stay where they were.
    calls.push({
      method: 'PUT',
      path: `/drives/${CONFIG_DRIVE_ID}`,
      body: {
        drive_id: CONFIG_DRIVE_ID,
        path_on_host: c.configDiskPath,
        is_root_device: false,
        is_read_only: true,
      },
    });
  }
  if (spec.tap) {
    calls.push({
      method: 'PUT',
      path: `/network-interfaces/${IFACE_ID}`,
      body: { iface_id: IFACE_ID, host_dev_name: spec.tap.name, guest_mac: spec.tap.mac },
    });
    // Further NICs follow the first one: eth1, eth2, … (the guest finds them by MAC anyway).
    (spec.moreTaps ?? []).forEach((t, i) => {
      const id = `eth${i + 1}`;
      calls.push({
        method: 'PUT',
        path: `/network-interfaces/${id}`,
        body: { iface_id: id, host_dev_name: t.name, guest_mac: t.mac },
      });
    });
  }
  calls.push({ method: 'PUT', path: '/vsock', body: { guest_cid: GUEST_CID, uds_path: c.vsockPath } });
  if (spec.tap) {
    // MMDS answers through a NIC, so it exists only when the VM has one.
    calls.push(
      { method: 'PUT', path: '/mmds/config', body: { version: 'V2', network_interfaces: [IFACE_ID] } },
      { method: 'PUT', path: '/mmds', body: mmdsData(spec) },
    );
  }
  calls.push(
    // An empty balloon costs nothing and lets the host reclaim memory later without a reboot.
    { method: 'PUT', path: '/balloon', body: { amount_mib: 0, deflate_on_oom: true } },
    { method: 'PUT', path: '/entropy', body: {} },
    { method: 'PUT', path: '/actions', body: { action_type: 'InstanceStart' } },
  );
  return calls;
}
