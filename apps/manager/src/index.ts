export { startManager, type RunningManager } from './manager.ts';
export type { ManagerConfig } from './manager-config.ts';
export { buildApp, type AppServices } from './app.ts';
export { openDb, type Db } from './db/index.ts';
export { restoreBackup, type RestoreReport } from './backup/restore.ts';
export { makeStores } from './store/index.ts';
export { oidcConfigFromEnv, type OidcConfig } from './auth/oidc-config.ts';
export {
  diskPolicyFromEnv,
  memoryPolicyFromEnv,
  type DiskPolicy,
  type MemoryPolicy,
} from './services/scheduler.ts';
