// Undo steps for the network benchmark, run newest first at the end, on failure and on
// SIGINT/SIGTERM; each step is idempotent.
const undo: { what: string; fn: () => Promise<unknown> }[] = [];

/** Registers a step to run at clean-up. */
export const later = (what: string, fn: () => Promise<unknown>): void => {
  undo.push({ what, fn });
};

export async function cleanUp(): Promise<void> {
  for (const u of undo.splice(0).reverse()) {
    await u.fn().catch((e: Error) => console.error(`cleanup: ${u.what}: ${e.message.split('\n')[0]}`));
  }
}

/** Cleans up and exits on SIGINT/SIGTERM. */
export function cleanUpOnSignals(): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      console.error(`\n${sig}: cleaning up`);
      void cleanUp().finally(() => process.exit(130));
    });
  }
}
