import type { Db } from '../db/index.ts';
import { HostStore } from './hosts.ts';
import { IdempotencyStore } from './idempotency.ts';
import { ImageStore } from './images.ts';
import { TokenStore } from './tokens.ts';
import { VmStore } from './vms.ts';
import { SnapshotStore } from './snapshots.ts';
import { VolumeStore } from './volumes.ts';
import { TemplateStore } from './templates.ts';
import { NetworkStore } from './networks.ts';
import { ProjectStore } from './projects.ts';
import { UserStore } from './users.ts';
import { SessionStore } from './sessions.ts';
import { JoinTokenStore } from './join-tokens.ts';
import { HostCredentialStore } from './host-credentials.ts';

export interface Stores {
  vms: VmStore;
  hosts: HostStore;
  images: ImageStore;
  tokens: TokenStore;
  idempotency: IdempotencyStore;
  snapshots: SnapshotStore;
  volumes: VolumeStore;
  templates: TemplateStore;
  networks: NetworkStore;
  projects: ProjectStore;
  users: UserStore;
  sessions: SessionStore;
  joinTokens: JoinTokenStore;
  hostCredentials: HostCredentialStore;
}

export function makeStores(db: Db): Stores {
  return {
    vms: new VmStore(db),
    hosts: new HostStore(db),
    images: new ImageStore(db),
    tokens: new TokenStore(db),
    idempotency: new IdempotencyStore(db),
    snapshots: new SnapshotStore(db),
    volumes: new VolumeStore(db),
    templates: new TemplateStore(db),
    networks: new NetworkStore(db),
    projects: new ProjectStore(db),
    users: new UserStore(db),
    sessions: new SessionStore(db),
    joinTokens: new JoinTokenStore(db),
    hostCredentials: new HostCredentialStore(db),
  };
}
