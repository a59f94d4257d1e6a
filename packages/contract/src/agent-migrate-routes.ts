import { z } from 'zod';
import { AgentVmSpec, AgentVmStatus } from './agent.ts';
import { AgentVmParams } from './agent-access-routes.ts';
import type { AgentRouteDef } from './agent-routes.ts';

const def = <const T extends AgentRouteDef>(r: T): T => r;

export const AgentMigrateInfo = z.object({
  diskBytes: z.number().int().nonnegative(),
  hasAgent: z.boolean(),
});
export const AgentIncomingBody = z.strictObject({
  spec: AgentVmSpec,
  diskBytes: z.number().int().positive(),
  hasAgent: z.boolean(),
});
export const AgentIncomingPorts = z.object({
  nbdPort: z.number().int(),
  migratePort: z.number().int(),
});
export const AgentSendBody = z.strictObject({
  host: z.string().min(1).describe("The destination agent's address, reached by the source QEMU"),
  nbdPort: z.number().int(),
  migratePort: z.number().int(),
});
export const AgentSendResult = z.object({
  downtimeMs: z.number(),
  ramTotalMs: z.number(),
  completedAt: z.number().describe('Epoch ms the source finished'),
  mirrorMs: z.number().optional().describe('How long the disk mirror took to be in sync'),
});
export const AgentFinishResult = AgentVmStatus.extend({
  resumedAt: z.number().describe('Epoch ms the guest continued here'),
});
export const AgentMigrateProgress = z.object({
  phase: z.enum(['idle', 'mirroring', 'copying-memory', 'switching-over']),
  percent: z.number(),
});
export type AgentMigrateProgress = z.infer<typeof AgentMigrateProgress>;

/** Live migration of a QEMU VM between two agents (docs/migration.md, decisions/0030). */
export const agentMigrateRoutes = {
  migrateInfo: def({
    method: 'GET',
    path: '/agent/v1/vms/:id/migrate/info',
    summary: "The size of a running VM's root disk and whether it carries the guest agent.",
    params: AgentVmParams,
    response: AgentMigrateInfo,
  }),
  migrateIncoming: def({
    method: 'POST',
    path: '/agent/v1/vms/:id/migrate/incoming',
    summary:
      'Destination: network and an empty disk for the VM, its QEMU waiting (-incoming defer, paused) with an NBD server for the disk; answers the two ports.',
    params: AgentVmParams,
    body: AgentIncomingBody,
    response: AgentIncomingPorts,
  }),
  migrateFinish: def({
    method: 'POST',
    path: '/agent/v1/vms/:id/migrate/finish',
    summary:
      'Destination, once the source completed: the NBD server stopped, the guest continued here, its agent session opened.',
    params: AgentVmParams,
    response: AgentFinishResult,
  }),
  migrateAbortIncoming: def({
    method: 'DELETE',
    path: '/agent/v1/vms/:id/migrate/incoming',
    summary: 'Destination: the waiting QEMU killed and everything made for it removed.',
    params: AgentVmParams,
    response: z.object({ ok: z.boolean() }),
  }),
  migrateSend: def({
    method: 'POST',
    path: '/agent/v1/vms/:id/migrate/send',
    summary:
      'Source: disks mirrored to the destination, then memory pre-copied; answers once the destination holds everything (the source left paused).',
    params: AgentVmParams,
    body: AgentSendBody,
    response: AgentSendResult,
  }),
  migrateProgress: def({
    method: 'GET',
    path: '/agent/v1/vms/:id/migrate/progress',
    summary: 'Source: how far a running send got.',
    params: AgentVmParams,
    response: AgentMigrateProgress,
  }),
  migrateCancel: def({
    method: 'POST',
    path: '/agent/v1/vms/:id/migrate/cancel',
    summary: 'Source: a migration given up; the guest runs here again.',
    params: AgentVmParams,
    response: AgentVmStatus,
  }),
} as const;
