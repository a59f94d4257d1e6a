import { describe, expect, it } from 'vitest';
import { CLI_ENV, cli } from '../../../../test/helpers/proc.ts';

// Contradictory or malformed flags are the user's to fix: a usage error (exit 2) before any call,
// so no manager is needed (the URL points nowhere).
describe('hearth snapshot schedule flags', () => {
  const env = { HEARTH_URL: 'http://127.0.0.1:9', HEARTH_TOKEN: 'unused', ...CLI_ENV };

  it('refuses --disk-only with --memory as a usage error', async () => {
    const r = await cli(['snapshot', 'schedule', 'update', 'nightly', '--disk-only', '--memory'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('give --disk-only or --memory, not both');
  });

  it('refuses a selector that is not KEY=VALUE as a usage error', async () => {
    const r = await cli(['snapshot', 'schedule', 'create', '--selector', 'web', '--cron', '0 * * * *'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--selector web must look like key=value.');
  });
});
