import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { AppLogStore, DEFAULT_APP_LOGS } from '../app-logs/store.ts';
import type {
  AgentChecksums,
  AgentDnsNamesBody,
  AgentExportInfo,
  AgentImportSnapshotBody,
  AgentNic,
  AgentVmSpec,
  AgentVmStatus,
} from '@hearth/contract';
import { capLog, tailFile } from '../console-log.ts';
import type { GuestConnection } from '../guest/connection.ts';
import { ensureNetwork, teardownNetwork } from '../networks.ts';
import { nicsOf } from '../vm-net.ts';
import { adoptVms } from './adopt.ts';
import { VmContext, type SupervisorOptions } from './context.ts';
import { watchExit } from './exit-watch.ts';
import { checksums, snapshotFileSums } from './checksums.ts';
import { exportInfo, exportStream, importDisk, type ExportSource } from './export.ts';
import { importMemory, prepareImportSnapshot } from './import-snapshot.ts';
import { guestOf } from './guest-access.ts';
import { deleteVm, pauseVm, resumeVm, startVm, stopVm } from './lifecycle.ts';
import { netPolicy, setDnsNames, setNetPolicy, type NetPolicy } from './net-policy.ts';
import { filesOf } from './record.ts';
import { abortIncoming, finishIncoming, prepareIncoming } from './migrate-incoming.ts';
import { cancelSend, migrateInfo, sendProgress, sendVm } from './migrate-send.ts';
import {
  abortArrival,
  cancelSnapshotSend,
  dropSnapshotSend,
  receiveSnapshotFile,
  restoreArrival,
  sendSnapshot,
  snapshotFileStream,
} from './migrate-snapshot.ts';
import { deleteSnapshot, restoreVm, snapshotDir, snapshotVm, type AgentSnapshot } from './snapshot.ts';
import * as transfer from './snapshot-transfer.ts';

/**
 * Owns every VM on this host: launch, adopt, observe, stop, delete. One operation per VM at a
 * time. A facade: each verb lives in the file named after it in this folder.
 */
export class Supervisor {
  private readonly ctx: VmContext;
  private capTimer: NodeJS.Timeout | null = null;

  constructor(o: SupervisorOptions) {
    this.ctx = new VmContext(o, (rec, instance) => watchExit(this.ctx, rec, instance));
  }

  get dataDir(): string {
    return this.ctx.o.dataDir;
  }

  /** Finds VMs left by an earlier agent process and re-attaches to the ones still running. */
  async init(): Promise<void> {
    await adoptVms(this.ctx);
    this.capTimer = setInterval(() => void this.capLogs(), 10_000);
    this.capTimer.unref();
  }

  private async capLogs(): Promise<void> {
    for (const rec of this.ctx.vms.values()) {
      await capLog(filesOf(rec).consoleLog, this.ctx.o.consoleLogCap).catch(() => undefined);
    }
  }

  status(id: string): AgentVmStatus {
    return this.ctx.status(id);
  }

  list(): AgentVmStatus[] {
    return [...this.ctx.vms.keys()].map((id) => this.ctx.status(id));
  }

  /** Boots the VM and resolves once the guest printed its boot marker (or failed). Idempotent. */
  start(spec: AgentVmSpec): Promise<AgentVmStatus> {
    return startVm(this.ctx, spec);
  }

  stop(id: string, opts: { force: boolean; timeoutMs: number }): Promise<AgentVmStatus> {
    return stopVm(this.ctx, id, opts);
  }

  pause(id: string): Promise<AgentVmStatus> {
    return pauseVm(this.ctx, id);
  }

  resume(id: string): Promise<AgentVmStatus> {
    return resumeVm(this.ctx, id);
  }

  /** Kills the VMM and removes the run directory, disk, TAP and console log. */
  delete(id: string): Promise<void> {
    return deleteVm(this.ctx, id);
  }

  /** The guest agent session of a running VM (waits, bounded, for one that is reconnecting). */
  guest(id: string): Promise<GuestConnection> {
    return guestOf(this.ctx, id);
  }

  /** A pool VM handed out runs at the normal CPU weight from now on. */
  foreground(id: string): Promise<void> {
    return this.ctx.foreground(id);
  }

  /** Saves memory, devices and disk of a running or paused VM; it continues as it was. */
  async snapshot(
    id: string,
    snapshotId: string,
    kind: 'memory' | 'disk' = 'memory',
    volumes?: string[],
    type: 'full' | 'diff' = 'full',
  ): Promise<AgentSnapshot & { fileSums: Record<string, string> }> {
    const r = await snapshotVm(this.ctx, id, snapshotId, kind, volumes, type);
    // Summed once the VM runs on (outside its serial section): the files never change after, so
    // a backup lists these without reading them again (docs/backups.md § Checksums).
    return { ...r, fileSums: await snapshotFileSums(snapshotDir(this.ctx, snapshotId)) };
  }

  /** sha256 of volume and snapshot files on this host, for a backup or a check after a restore. */
  checksums(want: { volumes: string[]; snapshots: string[] }): Promise<AgentChecksums> {
    return checksums(this.ctx, want);
  }

  /** Runs `spec` from a snapshot, in place or as a clone. */
  restore(spec: AgentVmSpec, snapshotId: string, start = true): Promise<AgentVmStatus> {
    return restoreVm(this.ctx, spec, snapshotId, start);
  }

  /** VM export and import (docs/backups.md § VM export). */
  exportInfo(id: string, src: ExportSource): Promise<AgentExportInfo> {
    return exportInfo(this.ctx, id, src);
  }

  exportStream(id: string, src: ExportSource & { sha256: string; encodedBytes: number }): Promise<Readable> {
    return exportStream(this.ctx, id, src);
  }

  importDisk(
    id: string,
    body: Readable,
    o: { sizeBytes: number; hasAgent: boolean; sha256: string },
  ): Promise<{ sha256: string; encodedBytes: number }> {
    return importDisk(this.ctx, id, body, o);
  }

  /** An imported VM's saved memory (import-snapshot.ts): described first, then received. */
  prepareImportSnapshot(id: string, o: AgentImportSnapshotBody): Promise<{ snapshotId: string }> {
    return prepareImportSnapshot(this.ctx, id, o);
  }

  importMemory(
    id: string,
    body: Readable,
    o: { sizeBytes: number; sha256: string },
  ): Promise<{ sha256: string; encodedBytes: number }> {
    return importMemory(this.ctx, id, body, o);
  }

  /** Live migration (docs/migration.md): the source's and the destination's verbs. */
  get migration() {
    const ctx = this.ctx;
    return {
      info: (id: string) => migrateInfo(ctx, id),
      prepare: (spec: AgentVmSpec, o: { diskBytes: number; hasAgent: boolean }) =>
        prepareIncoming(ctx, spec, o),
      finish: (id: string) => finishIncoming(ctx, id),
      abort: (id: string) => abortIncoming(ctx, id),
      send: (id: string, t: { host: string; nbdPort: number; migratePort: number }) => sendVm(ctx, id, t),
      progress: (id: string) => sendProgress(id),
      cancel: (id: string) => cancelSend(ctx, id),
    };
  }

  /** A running Firecracker VM's move (not live): pause, snapshot, copy, load, resume. */
  get snapshotMove() {
    const ctx = this.ctx;
    return {
      send: (id: string) => sendSnapshot(ctx, id),
      file: (id: string, file: string, o: { sha256: string; encodedBytes: number }) =>
        snapshotFileStream(ctx, id, file, o),
      cancel: (id: string) => cancelSnapshotSend(ctx, id),
      drop: (id: string) => dropSnapshotSend(ctx, id),
      receive: (id: string, file: string, body: Readable, o: { sizeBytes: number; sha256: string }) =>
        receiveSnapshotFile(ctx, id, file, body, o),
      restore: (spec: AgentVmSpec) => restoreArrival(ctx, spec),
      abort: (id: string) => abortArrival(ctx, id),
    };
  }

  /** A stored snapshot copied to another host under the same id (snapshot-transfer.ts). */
  get snapshotTransfer() {
    const ctx = this.ctx;
    return {
      describe: (snapshotId: string) => transfer.describeSnapshot(ctx, snapshotId),
      send: (snapshotId: string, file: string, o: { sha256: string; encodedBytes: number }) =>
        transfer.snapshotFileOut(ctx, snapshotId, file, o),
      receive: (snapshotId: string, file: string, body: Readable, o: { sizeBytes: number; sha256: string }) =>
        transfer.snapshotFileIn(ctx, snapshotId, file, body, o),
      commit: (snapshotId: string, files: string[]) => transfer.commitArrival(ctx, snapshotId, files),
      abort: (snapshotId: string) => transfer.abortArrival(ctx, snapshotId),
    };
  }

  deleteSnapshot(snapshotId: string): Promise<void> {
    return deleteSnapshot(this.ctx, snapshotId);
  }

  /** Paths a console viewer needs: the log the VMM appends and the socket that takes input. */
  consolePaths(id: string): { log: string; socket: string; running: boolean } {
    const rec = this.ctx.need(id);
    const f = filesOf(rec);
    return { log: f.consoleLog, socket: f.consoleSocket, running: Boolean(rec.instance) };
  }

  async consoleLog(id: string, bytes: number): Promise<string> {
    return tailFile(filesOf(this.ctx.need(id)).consoleLog, bytes);
  }

  setNetPolicy(id: string, p: NetPolicy): Promise<AgentVmStatus> {
    return setNetPolicy(this.ctx, id, p);
  }

  /** New DNS names for the VM's NICs (a rename, a pool hand-out). */
  setDnsNames(id: string, body: AgentDnsNamesBody): Promise<AgentVmStatus> {
    return setDnsNames(this.ctx, id, body);
  }

  netPolicy(id: string): NetPolicy {
    return netPolicy(this.ctx, id);
  }

  /** Re-applies a network this host carries (new VXLAN peers); ignored when no VM here uses it. */
  async refreshNetwork(net: AgentNic['network']): Promise<void> {
    if (!this.ctx.o.net || !this.networksInUse().has(net.id)) return;
    await ensureNetwork(net, this.ctx.o.net);
  }

  /** Removes a deleted network from this host. */
  async teardownNetwork(net: Parameters<typeof teardownNetwork>[0]): Promise<void> {
    await teardownNetwork(net);
  }

  /** Networks (by id) that this agent's VMs use: start-up keeps them, sweeps the rest of ours. */
  networksInUse(): Set<string> {
    return new Set([...this.ctx.vms.values()].flatMap((r) => nicsOf(r.spec).map((n) => n.network.id)));
  }

  /** Where the VM's app output is stored (files oldest first) and the live feed of new lines. */
  appLogs(id: string): { files: string[]; live: EventEmitter; hasApp: boolean } {
    const rec = this.ctx.need(id);
    const hub = this.ctx.o.appLogs;
    return {
      files: new AppLogStore(rec.dir, rec.spec.appLogs ?? DEFAULT_APP_LOGS).files(),
      live: hub?.live ?? new EventEmitter(),
      hasApp: Boolean(rec.spec.guest?.app),
    };
  }

  /** Ids of the VMs this agent knows. */
  vmIds(): Set<string> {
    return new Set(this.ctx.vms.keys());
  }

  /** VMs whose VMM runs now (their TAPs and tables must stay). */
  runningVmIds(): Set<string> {
    return new Set([...this.ctx.vms.values()].filter((r) => r.instance).map((r) => r.spec.id));
  }

  /** Lets go of every VMM (they keep running). Idempotent. */
  dispose(): void {
    if (this.capTimer) clearInterval(this.capTimer);
    this.capTimer = null;
    for (const rec of this.ctx.vms.values()) {
      this.ctx.dropGuest(rec);
      rec.instance?.dispose();
    }
  }
}
