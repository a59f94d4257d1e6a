import { HearthError } from '@hearth/contract';
import { ConnectionError } from '@hearth/sdk/connection-error';
import { UsageError } from './usage-error.ts';

/** Documented exit codes (docs/cli.md). */
export const EXIT = { ok: 0, apiError: 1, usage: 2, unreachable: 3, vmFailed: 4 } as const;

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** What failed, why, and how to fix it; JSON on stderr with --json. */
export function reportError(e: unknown, json: boolean): number {
  if (e instanceof HearthError) {
    if (json) process.stderr.write(JSON.stringify(e.toEnvelope()) + '\n');
    else {
      process.stderr.write(`error: ${e.message}\n`);
      if (e.fields)
        for (const [f, m] of Object.entries(e.fields)) process.stderr.write(`  ${f}: ${m.join(', ')}\n`);
      const reason = (e.detail as { reason?: string } | undefined)?.reason;
      if (reason) process.stderr.write(`  reason:\n${reason.replace(/^/gm, '    ')}\n`);
      process.stderr.write(`  code: ${e.code}\n  hint: ${e.hint}\n`);
    }
    return e.code === 'VM_FAILED' ? EXIT.vmFailed : EXIT.apiError;
  }
  if (e instanceof ConnectionError) {
    process.stderr.write(
      `error: ${e.message}\n  hint: start the platform with \`hearth up\`, or set HEARTH_URL.\n`,
    );
    return EXIT.unreachable;
  }
  if (e instanceof UsageError) {
    process.stderr.write(`error: ${e.message}\n`);
    return EXIT.usage;
  }
  process.stderr.write(`error: ${(e as Error).message}\n`);
  return EXIT.apiError;
}
