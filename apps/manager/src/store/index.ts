import type { Db } from '../db/index.ts';
import { HostStore } from './hosts.ts';
import { IdempotencyStore, type IdempotencyPolicy } from './idempotency.ts';
import { ImageStore } from './images.ts';
import { TokenStore } from './tokens.ts';
import { VmStore } from './vms.ts';
import { SnapshotStore } from './snapshots.ts';
import { HostFailureStore } from './host-failure.ts';
import { MoveStore } from './moves.ts';
import { ScheduleStore } from './schedules.ts';
import { VolumeStore } from './volumes.ts';
import { TemplateStore } from './templates.ts';
import { NetworkStore } from './networks.ts';
import { ProjectStore } from './projects.ts';
import { UserStore } from './users.ts';
import { SessionStore } from './sessions.ts';
import { TicketStore } from './tickets.ts';
import { JoinTokenStore } from './join-tokens.ts';
import { HostCredentialStore } from './host-credentials.ts';
import { HostPlacementStore } from './host-placement.ts';
import { AuditStore } from './audit.ts';
import { PoolStore } from './pools.ts';
import { ContainerStore } from './containers.ts';
import { SecretStore } from './secrets.ts';
import { RegistryCredentialStore } from './registry-credentials.ts';

export interface Stores {
  vms: VmStore;
  hosts: HostStore;
  images: ImageStore;
  tokens: TokenStore;
  idempotency: IdempotencyStore;
  snapshots: SnapshotStore;
  schedules: ScheduleStore;
  volumes: VolumeStore;
  templates: TemplateStore;
  networks: NetworkStore;
  projects: ProjectStore;
  users: UserStore;
  sessions: SessionStore;
  tickets: TicketStore;
  joinTokens: JoinTokenStore;
  hostCredentials: HostCredentialStore;
  hostPlacement: HostPlacementStore;
  hostFailure: HostFailureStore;
  moves: MoveStore;
  audit: AuditStore;
  pools: PoolStore;
  containers: ContainerStore;
  secrets: SecretStore;
  registryCredentials: RegistryCredentialStore;
}

/** `idempotency`: how long keys live and when an unfinished claim is stale (defaults 24 h, 5 min). */
export function makeStores(db: Db, opts: { idempotency?: IdempotencyPolicy } = {}): Stores {
  return {
    vms: new VmStore(db),
    hosts: new HostStore(db),
    images: new ImageStore(db),
    tokens: new TokenStore(db),
    idempotency: new IdempotencyStore(db, opts.idempotency),
    snapshots: new SnapshotStore(db),
    schedules: new ScheduleStore(db),
    volumes: new VolumeStore(db),
    templates: new TemplateStore(db),
    networks: new NetworkStore(db),
    projects: new ProjectStore(db),
    users: new UserStore(db),
    sessions: new SessionStore(db),
    tickets: new TicketStore(db),
    joinTokens: new JoinTokenStore(db),
    hostCredentials: new HostCredentialStore(db),
    hostPlacement: new HostPlacementStore(db),
    hostFailure: new HostFailureStore(db),
    moves: new MoveStore(db),
    audit: new AuditStore(db),
    pools: new PoolStore(db),
    containers: new ContainerStore(db),
    secrets: new SecretStore(db),
    registryCredentials: new RegistryCredentialStore(db),
  };
}
