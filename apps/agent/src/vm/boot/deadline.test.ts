import { describe, expect, it } from 'vitest';
import type { BootRun } from './run.ts';
import { bootDeadlineMs } from './05-ready.ts';

const run = (initrdPath: string | null) =>
  ({ ctx: { o: { bootTimeoutMs: 90_000 } }, initrdPath }) as unknown as Pick<BootRun, 'ctx' | 'initrdPath'>;

describe('bootDeadlineMs', () => {
  it("is the host's deadline, and three times it for a kernel that boots through an initramfs", () => {
    expect(bootDeadlineMs(run(null))).toBe(90_000);
    expect(bootDeadlineMs(run('/images/initrd'))).toBe(270_000);
  });
});
