import { z } from 'zod';
import { identityErrors } from './errors-identity.ts';
import { poolErrors } from './errors-pools.ts';
import { backupErrors } from './errors-backups.ts';
import { containerErrors } from './errors-containers.ts';
import { functionErrors } from './errors-functions.ts';
import { opsErrors } from './errors-ops.ts';
import { placementErrors } from './errors-placement.ts';
import { hostErrors } from './errors-hosts.ts';
import { migrationErrors } from './errors-migration.ts';

/**
 * The one error catalogue. Codes are never reused or renamed: retire a code by marking it
 * `retired: true`, never by deleting it. docs/errors.md is checked against this table by a test.
 */
export const errorCatalogue = {
  VALIDATION_FAILED: { status: 400, hint: 'Fix the fields listed in `fields` and send the request again.' },
  INVALID_JSON: { status: 400, hint: 'Send a valid JSON body with `Content-Type: application/json`.' },
  UNAUTHENTICATED: {
    status: 401,
    hint: 'Send `Authorization: Bearer <token>`; the admin token is in the data directory (admin.token).',
  },
  FORBIDDEN: { status: 403, hint: 'Use a token that is allowed to perform this operation.' },
  ROUTE_NOT_FOUND: { status: 404, hint: 'Check the method and path against /openapi.json.' },
  VM_NOT_FOUND: {
    status: 404,
    hint: 'List VMs with `hearth ls` or GET /v1/vms; ids and names are accepted.',
  },
  HOST_NOT_FOUND: { status: 404, hint: 'List hosts with GET /v1/hosts.' },
  IMAGE_NOT_FOUND: { status: 404, hint: 'List images with GET /v1/images; ids and names are accepted.' },
  VM_NAME_TAKEN: { status: 409, hint: 'Choose another name, or delete the VM that has it.' },
  VM_INVALID_STATE: {
    status: 409,
    hint: 'Check the VM state with `hearth ls`; `detail` lists what is allowed.',
  },
  VM_FAILED: {
    status: 409,
    hint: 'Read the reason and the console log (`hearth logs <vm>`), then start it again.',
  },
  VM_BUSY: { status: 409, hint: 'Another operation on this VM is in progress; wait for it and retry.' },
  VM_RESIZE_REQUIRES_STOP: {
    status: 409,
    hint: 'Stop the VM first; CPU and memory changes apply at the next start.',
  },
  VCPUS_EXCEED_HOST: {
    status: 422,
    hint: 'Ask for at most the number of CPUs of the largest host (GET /v1/hosts).',
  },
  MEMORY_EXCEEDS_HOST: { status: 422, hint: 'Ask for less memory, or free memory by stopping other VMs.' },
  IMAGE_KIND_MISMATCH: {
    status: 422,
    hint: 'Pass a rootfs image as `image` and a kernel image as `kernel`.',
  },
  VMM_UNAVAILABLE: {
    status: 422,
    hint: 'Run `hearth doctor` to see which VMMs this installation can use and why.',
  },
  NO_HOST_AVAILABLE: {
    status: 503,
    hint: 'Start an agent (`hearth up` starts one locally) or uncordon a host; check GET /v1/hosts.',
  },
  NETWORK_EXHAUSTED: {
    status: 409,
    hint: 'Delete VMs you no longer need, or use a network with a larger subnet.',
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    hint: 'An Idempotency-Key identifies one request body; use a new key for a different request.',
  },
  WAIT_TIMEOUT: { status: 408, hint: 'The VM did not reach the state in time; check its events and logs.' },
  INVALID_JOIN_TOKEN: {
    status: 401,
    hint: 'Create a join token with `hearth host join-token create` (the local agent of `hearth up` uses join.token in the manager data directory); a registered host re-registers with its agent credential.',
  },
  AGENT_UNREACHABLE: {
    status: 502,
    hint: "Check that the host's agent is running and reachable from the manager.",
  },
  HOST_UNAVAILABLE: {
    status: 503,
    hint: "The host's agent is starting, restarting or unreachable; nothing was changed: retry after `Retry-After` seconds (GET /v1/hosts shows its state).",
  },
  AGENT_ERROR: { status: 502, hint: 'The host agent reported an error; see `detail` and the agent log.' },
  VMM_START_FAILED: {
    status: 500,
    hint: 'See `detail` for the VMM output; run `hearth doctor` on the host.',
  },
  PAYLOAD_TOO_LARGE: { status: 413, hint: 'Send a smaller body.' },
  INTERNAL: { status: 500, hint: 'This is a bug; the request id identifies the log lines to report.' },
  VM_NOT_RUNNING: {
    status: 409,
    hint: 'Start the VM (`hearth start <vm>`) and wait for `running`; paused VMs must be resumed.',
  },
  GUEST_AGENT_UNAVAILABLE: {
    status: 409,
    hint: 'The guest agent is not connected: wait for the VM to be `running`; images without busybox init or systemd get no agent.',
  },
  GUEST_AGENT_TIMEOUT: {
    status: 504,
    hint: 'The guest did not answer in time; check its load (`hearth exec <vm> -- top -bn1`) and console log.',
  },
  GUEST_AGENT_ERROR: {
    status: 502,
    hint: 'The guest agent failed; `detail` has its message; the console log may say more.',
  },
  GUEST_PATH_NOT_FOUND: {
    status: 404,
    hint: 'Check the path inside the guest (`hearth exec <vm> -- ls -la <dir>`).',
  },
  GUEST_PATH_EXISTS: {
    status: 409,
    hint: 'Remove the existing file or directory first, or choose another path.',
  },
  GUEST_PATH_WRONG_TYPE: {
    status: 409,
    hint: 'A directory was found where a file was expected, or the reverse.',
  },
  GUEST_PATH_INVALID: {
    status: 400,
    hint: 'Use an absolute guest path without `..` segments; archives may not contain absolute or `..` names or pass through symlinks.',
  },
  GUEST_PERMISSION_DENIED: {
    status: 403,
    hint: 'Run as a user who may access the path (exec `user`), or change its mode.',
  },
  PROCESS_NOT_FOUND: {
    status: 404,
    hint: 'List processes with GET /v1/vms/{id}/processes; finished ones are kept for 10 minutes.',
  },
  SNAPSHOT_NOT_FOUND: {
    status: 404,
    hint: 'List snapshots with `hearth snapshot list` or GET /v1/snapshots; ids and names are accepted.',
  },
  SNAPSHOT_NAME_TAKEN: {
    status: 409,
    hint: 'Choose another snapshot name, or delete the snapshot that has it.',
  },
  SNAPSHOT_INCOMPATIBLE: {
    status: 409,
    hint: '`detail` says what changed since the snapshot (kernel, image, VMM version); take a new snapshot.',
  },
  SNAPSHOT_IN_USE: {
    status: 409,
    hint: 'Diff snapshots hold only the memory changed since this one: delete those in `detail.dependents` first.',
  },
  SNAPSHOT_TYPE_UNSUPPORTED: {
    status: 422,
    hint: 'Take a full snapshot (omit `type`): `detail.vmm` says which VMM refused the type and `detail.reason` why.',
  },
  VOLUME_NOT_FOUND: { status: 404, hint: 'List volumes with `hearth volume ls` or GET /v1/volumes.' },
  VOLUME_NAME_TAKEN: { status: 409, hint: 'Choose another volume name, or delete the volume that has it.' },
  VOLUME_IN_USE: { status: 409, hint: 'Detach the volume first (`hearth volume detach <volume>`).' },
  VOLUME_NEEDS_STOPPED_VM: {
    status: 409,
    hint: 'Stop the VM first: neither VMM here hot-plugs disks; the change applies at the next start.',
  },
  VOLUME_HOST_MISMATCH: {
    status: 409,
    hint: 'A volume attaches only to VMs on its own host; create the volume there.',
  },
  TEMPLATE_NOT_FOUND: { status: 404, hint: 'List templates with `hearth template ls` or GET /v1/templates.' },
  TEMPLATE_NAME_TAKEN: {
    status: 409,
    hint: 'Choose another template name, or delete the template that has it.',
  },
  PORT_TAKEN: {
    status: 409,
    hint: 'Another VM on the same host publishes that port; choose another host port (`hearth ls` shows who has it).',
  },
  EXEC_FAILED: {
    status: 422,
    hint: 'Check the command exists in the guest and that cwd and user are valid.',
  },
  IMAGE_NAME_TAKEN: { status: 409, hint: 'Choose another name, or delete the image that has it.' },
  IMAGE_IN_USE: {
    status: 409,
    hint: '`detail.usedBy` lists the VMs using the image; delete them first. Built-in images are never deleted.',
  },
  IMAGE_NOT_PENDING: {
    status: 409,
    hint: 'The image already has its content; create a new image to upload different content.',
  },
  IMAGE_NOT_READY: {
    status: 409,
    hint: 'Upload its content first (PUT /v1/images/{id}/content or `hearth image upload`).',
  },
  IMAGE_CHECKSUM_MISMATCH: {
    status: 422,
    hint: 'The content does not hash to the declared sha256: check the file and the sha256 you sent, then retry.',
  },
  IMAGE_FORMAT_INVALID: {
    status: 422,
    hint: 'Rootfs images must be ext4 filesystem images for x86_64, or whole disks (raw or qcow2, GPT or MBR, no backing file) with an ext4 root partition; registry images must have a linux/amd64 variant.',
  },
  IMAGE_SOURCE_FORBIDDEN: {
    status: 403,
    hint: 'Host path imports are off unless the manager runs with HEARTH_ALLOW_HOST_PATH_IMPORT=1; upload the file instead.',
  },
  IMAGE_SOURCE_NOT_FOUND: {
    status: 404,
    hint: 'Check the reference: the repository, tag or digest, URL or path does not exist at the source.',
  },
  IMAGE_SOURCE_UNREACHABLE: {
    status: 502,
    hint: 'Check that the registry or web server is up and reachable from the manager host (address, port, TLS).',
  },
  IMAGE_IMPORT_FAILED: {
    status: 502,
    hint: '`detail` carries the output of the failing step (skopeo, umoci, mke2fs or the download).',
  },
  NETWORK_NOT_FOUND: { status: 404, hint: 'List networks with `hearth network ls` or GET /v1/networks.' },
  NETWORK_NAME_TAKEN: {
    status: 409,
    hint: 'Choose another network name, or delete the network that has it.',
  },
  NETWORK_CIDR_OVERLAP: {
    status: 409,
    hint: "Choose a subnet that overlaps no other network's (`hearth network ls` lists them).",
  },
  NETWORK_CIDR_TOO_SMALL: {
    status: 422,
    hint: 'Use a subnet of at least /29 (a gateway, a broadcast address and room for VMs).',
  },
  NETWORK_INVALID: { status: 422, hint: 'Check which fields the network mode takes (docs/networking.md).' },
  NETWORK_VNI_TAKEN: { status: 409, hint: 'Another VXLAN network uses that VNI; choose another `vni`.' },
  NETWORK_INTERFACE_MISSING: {
    status: 422,
    hint: "Name an interface that exists on the host (`ip link` there); GET /v1/hosts lists each host's interfaces.",
  },
  NETWORK_INTERFACE_BUSY: {
    status: 409,
    hint: 'Bridge a dedicated interface without IPv4 addresses, or move its addresses to a bridge first.',
  },
  NETWORK_FEATURE_MISSING: {
    status: 422,
    hint: 'Run `hearth doctor` on the hosts: the network needs a kernel feature none of them has.',
  },
  NETWORK_IN_USE: {
    status: 409,
    hint: 'Delete or stop-and-detach the VMs on the network first (`detail` lists them).',
  },
  NETWORK_BUILTIN: { status: 409, hint: 'The default NAT network cannot be deleted.' },
  NETWORK_IP_UNAVAILABLE: {
    status: 409,
    hint: "Ask for a free address inside the network's subnet, or omit `ip` to get one assigned.",
  },
  IMAGE_BUILD_FAILED: {
    status: 500,
    hint: 'Building a runtime image failed; `detail` has the recipe output. Check the host can reach the Debian and npm archives.',
  },
  GUEST_AGENT_RECONNECTING: {
    status: 503,
    hint: 'The channel to the guest agent is reconnecting (after a snapshot, a restore or an agent restart) and did not come back in time; retry in a few seconds, and check the console log (`hearth logs <vm>`) if it persists.',
  },
  MALFORMED_REQUEST: {
    status: 400,
    hint: 'Send a well-formed HTTP/1.1 request: a URL whose percent-escapes decode to UTF-8, and header names and values without control characters.',
  },
  REQUEST_HEADERS_TOO_LARGE: {
    status: 431,
    hint: 'Keep the request line and headers under 16 KiB together; send large values in the body.',
  },
  REQUEST_TIMEOUT: {
    status: 408,
    hint: 'Send the whole request (headers and body) without long pauses.',
  },
  IMAGE_SOURCE_DENIED: {
    status: 422,
    hint: 'The source refused access (HTTP 401 or 403): import from a URL anyone can read (a public or pre-signed URL); the manager sends no credentials.',
  },
  WEBSOCKET_REQUIRED: {
    status: 426,
    hint: 'Connect with a WebSocket client (`Upgrade: websocket`); browsers authenticate with the session cookie or a `?ticket=` from POST /v1/auth/tickets.',
  },
  GUEST_PATH_IO_ERROR: {
    status: 422,
    hint: "The guest's kernel refused to read or write this path (an I/O error, a special file such as /proc/1/mem, a full disk); `detail` has its message. Choose another path or free space in the guest.",
  },
  IMAGE_SOURCE_ADDRESS_REFUSED: {
    status: 403,
    hint: 'Imports never reach loopback, link-local (cloud metadata), private, multicast or reserved addresses, whichever name or redirect leads there. An operator allows a registry or server on such an address with HEARTH_IMPORT_ALLOW (CIDRs, addresses, host:port; `importAllow` in the manager config).',
  },
  ...identityErrors,
  ...poolErrors,
  ...opsErrors,
  ...hostErrors,
  ...migrationErrors,
  ...containerErrors,
  ...functionErrors,
  ...backupErrors,
  ...placementErrors,
} as const satisfies Record<string, { status: number; hint: string; retired?: boolean }>;

export type ErrorCode = keyof typeof errorCatalogue;
export const errorCodes = Object.keys(errorCatalogue) as ErrorCode[];

export const ErrorEnvelope = z
  .object({
    error: z.object({
      code: z.enum(errorCodes as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      hint: z.string(),
      detail: z.unknown().optional(),
      fields: z.record(z.string(), z.array(z.string())).optional(),
      requestId: z.string().optional(),
    }),
  })
  .meta({ id: 'Error' });
export type ErrorEnvelope = z.infer<typeof ErrorEnvelope>;

/** A failure with a catalogue code. Messages lead with the action that failed. */
export class HearthError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly hint: string;
  readonly detail?: unknown;
  readonly fields?: Record<string, string[]>;
  /** Seconds after which a retry may succeed (sent as `Retry-After`); set on retryable failures. */
  readonly retryAfterS?: number;

  constructor(
    code: ErrorCode,
    message: string,
    options: {
      detail?: unknown;
      fields?: Record<string, string[]>;
      hint?: string;
      cause?: unknown;
      retryAfterS?: number;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HearthError';
    this.code = code;
    this.status = errorCatalogue[code].status;
    this.hint = options.hint ?? errorCatalogue[code].hint;
    this.detail = options.detail;
    this.fields = options.fields;
    if (options.retryAfterS !== undefined) this.retryAfterS = options.retryAfterS;
  }

  toEnvelope(requestId?: string): ErrorEnvelope {
    return {
      error: {
        code: this.code,
        message: this.message,
        hint: this.hint,
        ...(this.detail === undefined ? {} : { detail: this.detail }),
        ...(this.fields === undefined ? {} : { fields: this.fields }),
        ...(requestId === undefined ? {} : { requestId }),
      },
    };
  }

  static fromEnvelope(status: number, body: ErrorEnvelope): HearthError {
    const e = body.error;
    const err = new HearthError(e.code, e.message, { detail: e.detail, fields: e.fields, hint: e.hint });
    return Object.assign(err, { status });
  }
}

/** Turns a zod failure into the catalogue's VALIDATION_FAILED with per-field messages. */
export function validationError(what: string, issues: z.core.$ZodIssue[]): HearthError {
  // A Map: field names come from the client (`constructor`, `__proto__` are names like any other).
  const byField = new Map<string, string[]>();
  const add = (k: string, msg: string) => byField.set(k, [...(byField.get(k) ?? []), msg]);
  for (const issue of issues) {
    const key = issue.path.length ? issue.path.join('.') : '(body)';
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) add(k, 'unknown field');
      continue;
    }
    add(key, issue.message);
  }
  const fields = Object.fromEntries(byField);
  const first = [...byField][0];
  const summary = first ? `${first[0]}: ${first[1][0]}` : 'invalid input';
  return new HearthError('VALIDATION_FAILED', `Validating ${what} failed: ${summary}.`, { fields });
}
