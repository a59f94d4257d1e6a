export { FirecrackerDriver, type FirecrackerDriverOptions } from './driver.ts';
export { FirecrackerApi, FirecrackerApiError } from './api-client.ts';
export { FirecrackerInstance, type WatchdogOptions } from './instance.ts';
export { FirecrackerLaunchError } from './launch.ts';
export { configCalls, firecrackerBootArgs, type ApiCall } from './config.ts';
export { jailerArgs, jailId, JAILER_DEFAULTS, type JailerConfig } from './jailer.ts';
export { probeFirecracker, parseFirecrackerVersion, findExecutable } from './probe.ts';
export {
  diffBaseDir,
  snapshotIncompatibility,
  snapshotFormatMajor,
  type FirecrackerSnapshotInfo,
} from './snapshot.ts';
export { diffsBuiltOn } from './snapshot-chain.ts';
