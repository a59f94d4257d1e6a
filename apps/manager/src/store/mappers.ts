import type {
  Host,
  Image,
  Member,
  Project,
  ProjectRole,
  ProjectUsage,
  User,
  Vm,
  VmEvent,
} from '@hearth/contract';

import type { hosts, images, projects, users, vmEvents, vms } from '../db/schema.ts';
import type { MemberRow } from './projects.ts';

// DB rows become API shapes here and only here. Row types come from the schema (db/schema.ts).

export type VmRow = typeof vms.$inferSelect & {
  /** Milliseconds since the last update, by the database's clock (only some queries select it). */
  age_ms?: number;
};

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

export function vmFromRow(r: VmRow, now = Date.now()): Vm {
  const startedAt = iso(r.started_at);
  return {
    id: r.id,
    name: r.name,
    project: r.project,
    state: r.state,
    desiredState: r.desired_state,
    stateReason: r.state_reason,
    vcpus: r.vcpus,
    memoryMib: r.memory_mib,
    diskMib: r.disk_mib,
    image: r.image_id,
    kernel: r.kernel_id,
    vmm: r.vmm,
    accel: r.accel,
    host: r.host_id,
    hostSelector: r.host_selector ?? {},
    antiAffinityGroup: r.anti_affinity_group ?? null,
    ip: r.ip,
    pid: r.pid,
    env: r.env ?? {},
    labels: r.labels ?? {},
    timeout: r.timeout,
    restartPolicy: r.restart_policy,
    drainPolicy: r.drain_policy,
    users: (r.guest?.users ?? []).map((u) => u.name),
    snapshot: r.snapshot_id ?? null,
    ports: r.ports ?? [],
    networks: r.nics ?? [],
    egress: r.egress ?? { default: 'allow', allow: [], deny: [] },
    bandwidthMbit: r.bandwidth_mbit ?? null,
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
    startedAt,
    stopAt: iso(r.stop_at),
    uptimeSeconds:
      r.state === 'running' && startedAt
        ? Math.max(0, Math.round((now - Date.parse(startedAt)) / 1000))
        : null,
    pool: r.pool ?? null,
    boot: r.boot_profile ?? null,
    app: r.app ?? null,
    lastMigration: r.last_migration ?? null,
  };
}

export type EventRow = typeof vmEvents.$inferSelect;

export function eventFromRow(r: EventRow): VmEvent {
  return {
    seq: Number(r.seq),
    id: r.id,
    vmId: r.vm_id,
    type: r.type,
    from: r.from_state,
    to: r.to_state,
    actor: r.actor,
    reason: r.reason,
    at: iso(r.at)!,
  };
}

export type HostRow = typeof hosts.$inferSelect & {
  /** Filled by the host store's queries: VMs placed there and what the active ones hold. */
  vm_count?: number;
  alloc_vcpus?: number;
  alloc_mem?: number;
  /** Declared disks of the VMs recorded there (every state but deleted and lost), MiB. */
  alloc_disk?: number;
  /** Active VMs (those counted in alloc_vcpus/alloc_mem): each adds the VMM overhead. */
  alloc_count?: number;
};

export function hostFromRow(r: HostRow): Host {
  return {
    id: r.id,
    name: r.name,
    url: r.url,
    state: r.state,
    cordoned: r.cordoned,
    deadAt: iso(r.dead_at),
    drain: r.drain ?? null,
    inventory: r.inventory,
    vmCount: Number(r.vm_count ?? 0),
    allocatedVcpus: Number(r.alloc_vcpus ?? 0),
    allocatedMemoryMib: Number(r.alloc_mem ?? 0),
    allocatedDiskMib: Number(r.alloc_disk ?? 0),
    labels: r.labels ?? {},
    cpuOvercommit: r.cpu_overcommit ?? null,
    memoryOvercommit: r.memory_overcommit ?? null,
    lastHeartbeatAt: iso(r.last_heartbeat_at)!,
    createdAt: iso(r.created_at)!,
  };
}

export type ImageRow = typeof images.$inferSelect & {
  /** Filled by the image store's queries: VMs whose rootfs or kernel this is. */
  used_by?: string[] | null;
};

export function imageFromRow(r: ImageRow): Image {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    format: r.format,
    arch: r.arch,
    sizeBytes: Number(r.size_bytes),
    sha256: r.sha256,
    source: r.source,
    path: r.path,
    builtin: r.builtin,
    status: r.status ?? 'ready',
    usedBy: r.used_by ?? [],
    meta: r.meta ?? {},
    createdAt: iso(r.created_at)!,
  };
}

/** A user as the API shows it: never its password hash, only whether it has one. */
export function userFromRow(r: typeof users.$inferSelect): User {
  return {
    id: r.id,
    name: r.name,
    displayName: r.display_name,
    email: r.email,
    admin: r.admin,
    disabled: r.disabled,
    sso: r.oidc_subject !== null,
    hasPassword: r.password_hash !== null,
    createdAt: iso(r.created_at)!,
    lastSignInAt: iso(r.last_sign_in_at),
  };
}

export function projectFromRow(
  r: typeof projects.$inferSelect,
  usage: ProjectUsage,
  role: ProjectRole,
): Project {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    quotas: r.quotas,
    usage,
    role,
    createdAt: iso(r.created_at)!,
  };
}

export function memberFromRow(r: MemberRow): Member {
  return { userId: r.user_id, userName: r.user_name, role: r.role, createdAt: iso(r.created_at)! };
}
