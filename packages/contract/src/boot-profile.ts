import { z } from 'zod';
import { Timestamp } from './common.ts';

/** One measured step of bringing a VM up (manager or host side), in the order they ran. */
export const BootStepTiming = z
  .object({
    name: z
      .string()
      .describe(
        'e.g. `place`, `disk`, `config`, `network`, `launch`, `kernel`, `agent`, `wiring`, `handout`',
      ),
    ms: z.number().describe('Duration in milliseconds'),
  })
  .meta({ id: 'BootStepTiming' });
export type BootStepTiming = z.infer<typeof BootStepTiming>;

/** Where a VM's last start-up time went. */
export const BootProfile = z
  .object({
    source: z
      .enum(['cold', 'pool', 'snapshot', 'restart'])
      .describe('A normal boot, a VM handed out from a pool, a restore from a snapshot, a reboot'),
    pool: z
      .string()
      .nullable()
      .describe(
        'The pool the VM was handed out from (kept by its later starts); null for a VM never handed out',
      ),
    steps: z.array(BootStepTiming),
    totalMs: z.number().describe('Request (or start) to ready'),
    at: Timestamp,
  })
  .meta({ id: 'BootProfile' });
export type BootProfile = z.infer<typeof BootProfile>;
