import { z } from 'zod';
import { AppStatus } from './app-status.ts';

// What a guest reports about itself (metrics, info, processes): in guest-reports.ts.
export * from './guest-reports.ts';

/**
 * The host ↔ guest-agent protocol, version 1. Mirrored in Go in apps/guest/protocol.go;
 * a change here is a change there (apps/guest/protocol_test.go checks the constants).
 *
 * One byte stream (virtio-serial port `org.hearth.agent` on QEMU, vsock port 1024 on Firecracker)
 * carries frames for many concurrent streams:
 *
 *   magic 'H' 'G' | u32 BE length of (stream + type + payload) | u32 BE stream | u8 type | payload
 *
 * Stream 0 is the session (HELLO/WELCOME/PING/PONG). The host opens stream N > 0 with a REQUEST;
 * the guest ends it with exactly one RESULT. JSON payloads are UTF-8 JSON objects; data payloads
 * are raw bytes. The magic lets a fresh host connection skip bytes left over from an earlier one.
 *
 * Credit (negotiated: HELLO `features` has 'credit' and WELCOME `capabilities` has 'credit'):
 * each stream starts with STREAM_WINDOW_BYTES of credit in each direction; a sender of data
 * frames (STDIN host → guest, STDOUT/STDERR guest → host) never has more payload bytes in
 * flight than the credit its receiver granted, and the receiver grants more with WINDOW frames
 * (payload: u32 BE byte increment) as its consumer takes the data. A guest that overruns its
 * credit is a protocol error. Without the feature on both sides (an older agent in a snapshot,
 * an older host) nothing changes: no WINDOW frame is sent and data flows as in version 1.
 */
export const GUEST_PROTOCOL_VERSION = 1;
export const FRAME_MAGIC = 'HG';
export const FRAME_HEADER_BYTES = 11;
/** Largest stream + type + payload a peer may send; anything bigger is a protocol error. */
export const MAX_FRAME_BODY = 1024 * 1024 + 5;
/** The largest data payload a sender puts in one frame (receivers accept up to MAX_FRAME_BODY). */
export const DATA_CHUNK_BYTES = 256 * 1024;
/** Credit each side starts a stream with, per direction, when the session negotiated 'credit'. */
export const STREAM_WINDOW_BYTES = 2 * 1024 * 1024;
/** The feature a host offers in HELLO and a guest lists in WELCOME for per-stream credit. */
export const CREDIT_FEATURE = 'credit';

export const FrameType = {
  HELLO: 1,
  WELCOME: 2,
  REQUEST: 3,
  RESULT: 4,
  STDIN: 5,
  STDIN_EOF: 6,
  STDOUT: 7,
  STDERR: 8,
  EVENT: 9,
  CONTROL: 10,
  PING: 11,
  PONG: 12,
  /** Credit for the stream's data frames: u32 BE byte increment (only with the credit feature). */
  WINDOW: 13,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export const Hello = z.object({
  protocol: z.number().int(),
  secret: z.string(),
  /** Optional extensions the host speaks (CREDIT_FEATURE); an older guest ignores the field. */
  features: z.array(z.string()).optional(),
});
export const Welcome = z.object({
  protocol: z.number().int(),
  agentVersion: z.string(),
  hostname: z.string(),
  bootId: z.string(),
  pid: z.number().int(),
  uptimeSec: z.number(),
  capabilities: z.array(z.string()),
});
export type Welcome = z.infer<typeof Welcome>;

const Path = z.string().min(1).max(4096);

export const ExecRequest = z.object({
  op: z.literal('exec'),
  /** Either argv (run directly) or command (run by /bin/sh -c). */
  argv: z.array(z.string()).min(1).optional(),
  command: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().optional(),
  user: z.string().optional(),
  /** When true the host sends STDIN frames and a STDIN_EOF; otherwise stdin is /dev/null. */
  stdin: z.boolean().optional(),
  timeoutMs: z.number().int().positive().optional(),
  /** A PTY session of this size; stdout carries the terminal output, stderr is unused. */
  pty: z.object({ cols: z.number().int().positive(), rows: z.number().int().positive() }).optional(),
  tag: z.string().optional(),
});

/**
 * One NIC of a guest restored from a snapshot: the interface that had MAC `from` in the snapshot
 * takes `mac` and `address` ("ip/prefix", null: none) and the default route via `gateway`;
 * `index` names its usual interface (ethN) if the guest changed that MAC itself.
 */
export const IdentityNic = z.object({
  from: z.string(),
  mac: z.string(),
  address: z.string().nullable(),
  gateway: z.string().nullable(),
  index: z.number().int().min(0),
});

/** A guest that lists this capability takes every field of `identity` (older ones: clock, name, NICs). */
export const IDENTITY_FULL_FEATURE = 'identity.full';

/**
 * A guest becomes the VM it now is, in one request: a VM restored from a snapshot (a clone, a
 * snapshot pool's VM) or booted ahead of time (a warm pool's, at hand-out). Each field is applied
 * when present: `entropy` first (base64 of host random bytes, credited, then the kernel's
 * generator reseeded), the clock, the hostname, each NIC's MAC and address, `users`, `env` for
 * later execs, and a new machine-id when `renewMachineId`.
 */
const IdentityUser = z.object({
  name: z.string(),
  passwordHash: z.string().nullable(),
  sshKeys: z.array(z.string()),
});
const identityFields = {
  unixMs: z.number().optional(),
  hostname: z.string().optional(),
  nics: z.array(IdentityNic).optional(),
  env: z.record(z.string(), z.string()).optional(),
  users: z.array(IdentityUser).optional(),
  entropy: z.string().optional(),
  renewMachineId: z.boolean().optional(),
};
export const IdentityRequest = z.object({ op: z.literal('identity'), ...identityFields });
export type IdentityRequest = z.infer<typeof IdentityRequest>;

/** A guest that lists this capability serves app.status, app.logs and app.control. */
export const APP_FEATURE = 'app';

/**
 * A guest that lists this capability serves `fs.sync`: sync(2), answered once the dirty pages of
 * its filesystems are on their disks (the host asks before it kills the VMM).
 */
export const FS_SYNC_FEATURE = 'fs.sync';

/**
 * The app ops (an agent without an app answers NOT_FOUND). `app.logs` streams EVENT frames
 * (GuestAppLogEvent) from sequence number `fromSeq` (default 1) and status messages after
 * `fromEvent`; without `follow` its RESULT
 * {nextSeq} comes once it sent what the guest's ring holds, with `follow` it ends at a CONTROL
 * cancel. `app.status` and `app.control` answer {status: AppStatus}.
 */
/**
 * A guest that lists this capability serves `tcp.connect`: a TCP connection to a server in the
 * guest (`host`: loopback or one of the guest's own addresses, default 127.0.0.1) relayed over the
 * stream. STDIN frames are written to it, STDIN_EOF half-closes it (shutdown of its write side);
 * what the server sends comes back as STDOUT within the stream's credit, and its end of data as an
 * EVENT {type: 'eof'}. An EVENT {type: 'connected'} comes first. CONTROL {type: 'cancel'} closes
 * the connection. The RESULT {bytesIn, bytesOut, reset} comes once both directions ended, or at
 * once when the connection is reset; a connect that fails is CONNECT_FAILED.
 */
export const TCP_FEATURE = 'tcp';

/**
 * WELCOME capability: `fs.write` takes `meta` (the file's user metadata, kept as `user.e2b.*`
 * extended attributes, E2B's envd's place for it) and FileStat reports it as `meta`.
 */
export const FS_META_FEATURE = 'fs.meta';

/**
 * WELCOME capability: the agent serves `fs.watch`, a directory's changes by inotify: an EVENT
 * {type: 'watching'} once its watches are set, then EVENT {type: 'change', name, op} per change
 * (name relative to the directory; op create, write, remove, rename or chmod), until a CONTROL
 * cancel ends it with an ok RESULT. With `recursive`, directories made later are watched too.
 */
export const FS_WATCH_FEATURE = 'fs.watch';

/** User metadata of a guest file: printable US-ASCII keys and values. */
export const FileMeta = z.record(z.string(), z.string());
export type FileMeta = z.infer<typeof FileMeta>;

export const AppControlAction = z.enum(['stop', 'start', 'restart', 'signal']);
export type AppControlAction = z.infer<typeof AppControlAction>;

export const GuestRequest = z.discriminatedUnion('op', [
  ExecRequest,
  z.object({ op: z.literal('ps') }),
  z.object({ op: z.literal('attach'), processId: z.string(), replay: z.boolean().optional() }),
  z.object({ op: z.literal('signal'), processId: z.string(), signal: z.string() }),
  z.object({ op: z.literal('write-stdin'), processId: z.string(), data: z.string() }),
  z.object({ op: z.literal('close-stdin'), processId: z.string() }),
  z.object({ op: z.literal('fs.stat'), path: Path }),
  z.object({ op: z.literal('fs.list'), path: Path, depth: z.number().int().min(1).max(32).optional() }),
  z.object({ op: z.literal('fs.mkdir'), path: Path, parents: z.boolean().optional() }),
  z.object({ op: z.literal('fs.watch'), path: Path, recursive: z.boolean().optional() }),
  z.object({ op: z.literal('fs.move'), from: Path, to: Path }),
  z.object({ op: z.literal('fs.remove'), path: Path, recursive: z.boolean().optional() }),
  z.object({ op: z.literal('fs.read'), path: Path, format: z.enum(['auto', 'raw', 'tar']).optional() }),
  z.object({
    op: z.literal('fs.write'),
    path: Path,
    format: z.enum(['raw', 'tar']).optional(),
    mode: z.number().int().optional(),
    parents: z.boolean().optional(),
    maxBytes: z.number().int().positive().optional(),
    /** The file's whole metadata (FS_META_FEATURE); a write without it leaves none. */
    meta: FileMeta.optional(),
  }),
  z.object({ op: z.literal('metrics') }),
  z.object({ op: z.literal('info') }),
  z.object({ op: z.literal('time.sync'), unixMs: z.number() }),
  z.object({ op: z.literal('fs.sync') }),
  z.object({ op: z.literal('shutdown'), reboot: z.boolean().optional() }),
  z.object({ op: z.literal('health') }),
  IdentityRequest,
  /** `identity` under its old name (host agents before the merge), all but `nics` required there. */
  z.object({ op: z.literal('personalize'), ...identityFields }),
  z.object({ op: z.literal('app.status') }),
  z.object({
    op: z.literal('app.logs'),
    fromSeq: z.number().int().min(1).optional(),
    /** Status events (messages) after this number; 0 or absent: every one the guest still has. */
    fromEvent: z.number().int().min(0).optional(),
    follow: z.boolean().optional(),
  }),
  z.object({ op: z.literal('app.control'), action: AppControlAction, signal: z.string().optional() }),
  z.object({
    op: z.literal('tcp.connect'),
    port: z.number().int().min(1).max(65535),
    host: z.string().optional(),
  }),
]);
export type GuestRequest = z.infer<typeof GuestRequest>;

/** Error codes a guest may put in a failed RESULT. */
export const GuestErrorCode = z.enum([
  'BAD_REQUEST',
  'UNAUTHENTICATED',
  'UNKNOWN_OP',
  'NOT_FOUND',
  'EXISTS',
  'NOT_DIR',
  'IS_DIR',
  'PATH_ESCAPE',
  'TOO_LARGE',
  'PERMISSION',
  'IO',
  'PROCESS_NOT_FOUND',
  'SPAWN_FAILED',
  'INTERNAL',
  'CONNECT_FAILED',
]);
export type GuestErrorCode = z.infer<typeof GuestErrorCode>;

export const GuestResult = z
  .object({
    ok: z.boolean(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
  })
  .catchall(z.unknown());
export type GuestResult = z.infer<typeof GuestResult>;

export const ExecExit = z.object({
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  timedOut: z.boolean(),
  durationMs: z.number(),
});
export type ExecExit = z.infer<typeof ExecExit>;

export const FileStat = z.object({
  path: z.string(),
  name: z.string(),
  type: z.enum(['file', 'dir', 'symlink', 'other']),
  size: z.number(),
  mode: z.number().int(),
  mtime: z.string(),
  linkTarget: z.string().optional(),
  /** A file's or directory's user metadata (FS_META_FEATURE), absent when it has none. */
  meta: FileMeta.optional(),
});
export type FileStat = z.infer<typeof FileStat>;

/** Boot-time configuration the host writes to /etc/hearth/guest.json (mode 0600) before boot. */
/**
 * The image's own process, started and supervised by the guest agent when it boots as PID 1
 * (OCI images and containers: ENTRYPOINT + CMD with the image's ENV, WORKDIR and USER). The agent
 * enforces the restart policy (with back-off) and the health check, keeps stdout and stderr
 * separately with timestamps for the host, and reports its status.
 */
export const GuestApp = z.object({
  argv: z.array(z.string()).min(1),
  /** KEY=VALUE, the image's ENV then the VM's env (later entries win). */
  env: z.array(z.string()),
  workdir: z.string(),
  /** `name`, `uid`, `name:group` or `uid:gid`; empty means root. */
  user: z.string(),
  /**
   * `no`: run once; `on-failure`: restart after a non-zero exit; `always` and `unless-stopped`:
   * restart after any exit (they differ only in what the platform does after a user stop).
   */
  restart: z.enum(['no', 'on-failure', 'always', 'unless-stopped']),
  /** `on-failure`: give up after this many restarts (null or absent: never). */
  maxRetries: z.number().int().min(0).nullable().optional(),
  healthcheck: z
    .object({
      cmd: z.array(z.string()).min(1).optional(),
      http: z.object({ port: z.number().int(), path: z.string() }).optional(),
      tcp: z.object({ port: z.number().int() }).optional(),
      intervalMs: z.number().int().positive(),
      timeoutMs: z.number().int().positive(),
      retries: z.number().int().min(1),
      startPeriodMs: z.number().int().min(0),
    })
    .optional(),
  /** Sent to the app by a stop; SIGKILL follows after stopGraceMs. Default SIGTERM, 10 s. */
  stopSignal: z.string().optional(),
  stopGraceMs: z.number().int().min(0).optional(),
  /** Volumes to mount before the app starts: the virtio disk with this serial at `target`. */
  mounts: z.array(z.object({ serial: z.string(), target: z.string(), readOnly: z.boolean() })).optional(),
  /** Copy the app's output to the serial console too (default true; containers turn it off). */
  console: z.boolean().optional(),
});
export type GuestApp = z.infer<typeof GuestApp>;

/** One line of the app's output: sequence number (per boot), time (RFC 3339, ns), stream, text. */
export const GuestLogRecord = z.object({
  s: z.number().int(),
  t: z.string(),
  o: z.enum(['stdout', 'stderr']),
  l: z.string(),
});
export type GuestLogRecord = z.infer<typeof GuestLogRecord>;

/** The EVENT frames of an app.logs stream. */
export const GuestAppLogEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('logs'), records: z.array(GuestLogRecord) }),
  /** Records from..to were asked for but the guest's ring no longer holds them. */
  z.object({ type: z.literal('gap'), from: z.number().int(), to: z.number().int() }),
  /** The app's status (first, and at each change while following) with what happened since. */
  z.object({
    type: z.literal('status'),
    status: AppStatus,
    events: z.array(z.string()),
    /** The number of the last event sent so far (the next follow's `fromEvent`). */
    eventSeq: z.number().int(),
  }),
]);
export type GuestAppLogEvent = z.infer<typeof GuestAppLogEvent>;

export const GuestBootConfig = z.object({
  secret: z.string(),
  hostname: z.string(),
  users: z.array(
    z.object({
      name: z.string(),
      /** SHA-512 crypt ($6$…), written to /etc/shadow; null keeps the current entry. */
      passwordHash: z.string().nullable(),
      sshKeys: z.array(z.string()),
    }),
  ),
  env: z.record(z.string(), z.string()),
  app: GuestApp.optional(),
  /** cloud-init user data, written as the NoCloud seed's user-data in images that run cloud-init. */
  userData: z.string().optional(),
});
export type GuestBootConfig = z.infer<typeof GuestBootConfig>;
