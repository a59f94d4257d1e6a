export { QemuDriver, QemuLaunchError, type QemuDriverOptions } from './driver.ts';
export {
  buildQemuArgs,
  runFiles,
  QEMU_BINARY,
  QEMU_MEMORY_DEFAULTS,
  type QemuMemoryOptions,
} from './args.ts';
export { detectAccel, hostTscKhz, probeQemu } from './probe.ts';
export { QmpClient } from './qmp.ts';
export { pidAlive } from './instance.ts';
export { kernelFormat, type KernelFormat } from './kernel-format.ts';
export { confineRunDir } from './confine.ts';
export { QemuInstance } from './instance.ts';
export {
  abortSend,
  awaitIncoming,
  listenIncoming,
  sendLive,
  type LiveProgress,
  type LiveResult,
  type LiveTarget,
} from './live-migration.ts';
