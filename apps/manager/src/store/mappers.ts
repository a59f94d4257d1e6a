import type { Host, HostInventory, Image, Vm, VmEvent, VmState } from '@hearth/contract';

/** DB rows become API shapes here and only here. */
export interface VmRow {
  id: string;
  name: string;
  project: string;
  state: VmState;
  desired_state: Vm['desiredState'];
  state_reason: string | null;
  vcpus: number;
  memory_mib: number;
  disk_mib: number;
  image_id: string;
  kernel_id: string;
  vmm: Vm['vmm'];
  accel: Vm['accel'];
  host_id: string | null;
  ip: string | null;
  mac: string | null;
  pid: number | null;
  env: Record<string, string>;
  labels: Record<string, string>;
  timeout: string | null;
  stop_at: Date | null;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  snapshot_id: string | null;
  ports?: { host: number; guest: number; protocol: 'tcp' | 'udp' }[];
  nics?: Vm['networks'];
  egress?: Vm['egress'] | null;
  bandwidth_mbit?: number | null;
  guest: { secret?: string; users?: { name: string; passwordHash: string | null; sshKeys: string[] }[] };
  /** Milliseconds since the last update, by the database's clock (only some queries select it). */
  age_ms?: number;
}

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
    ip: r.ip,
    pid: r.pid,
    env: r.env ?? {},
    labels: r.labels ?? {},
    timeout: r.timeout,
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
  };
}

export interface EventRow {
  seq: number | string;
  id: string;
  vm_id: string;
  type: string;
  from_state: VmState | null;
  to_state: VmState | null;
  actor: string;
  reason: string | null;
  at: Date;
}

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

export interface HostRow {
  id: string;
  name: string;
  url: string;
  callback_token: string;
  state: Host['state'];
  cordoned: boolean;
  inventory: HostInventory;
  last_heartbeat_at: Date;
  created_at: Date;
  vm_count?: number | string;
  alloc_vcpus?: number | string | null;
  alloc_mem?: number | string | null;
}

export function hostFromRow(r: HostRow): Host {
  return {
    id: r.id,
    name: r.name,
    url: r.url,
    state: r.state,
    cordoned: r.cordoned,
    inventory: r.inventory,
    vmCount: Number(r.vm_count ?? 0),
    allocatedVcpus: Number(r.alloc_vcpus ?? 0),
    allocatedMemoryMib: Number(r.alloc_mem ?? 0),
    lastHeartbeatAt: iso(r.last_heartbeat_at)!,
    createdAt: iso(r.created_at)!,
  };
}

export interface ImageRow {
  id: string;
  name: string;
  kind: Image['kind'];
  format: string;
  arch: string;
  size_bytes: number | string;
  sha256: string;
  source: string;
  path: string;
  builtin: boolean;
  status: Image['status'];
  /** Filled by the image store's queries: VMs whose rootfs or kernel this is. */
  used_by?: string[] | null;
  meta: Record<string, unknown>;
  created_at: Date;
}

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
