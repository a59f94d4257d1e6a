import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzSeed, runFuzz, summary, type FuzzReport } from '../helpers/fuzz-run.ts';

// A bounded, seeded fuzz run of the public API against a platform with one running VM: every
// route of the contract's table with hostile params, query and bodies (the guest routes on the
// running VM), WebSocket abuse, clients that hang up mid-stream, and 20 concurrent identical
// creates. `npm run bench:fuzz` is the 16,000-request variant. HEARTH_FUZZ_SEED replays a run;
// HEARTH_FUZZ_REQUESTS changes the budget.
const REQUESTS = Number(process.env.HEARTH_FUZZ_REQUESTS ?? 2000);

let report: (FuzzReport & { dispose(): Promise<void> }) | undefined;

beforeAll(async () => {
  const seed = fuzzSeed();
  console.log(`fuzz seed ${seed} (replay with HEARTH_FUZZ_SEED=${seed})`);
  report = await runFuzz({ requests: REQUESTS, seed });
  console.log(summary(report));
}, 1_500_000);

afterAll(async () => {
  await report?.dispose();
});

describe('fuzz run of the public API', () => {
  it('sent the whole budget', () => {
    expect(report!.log.sent).toBeGreaterThanOrEqual(REQUESTS);
  });
  it('answered every request: no 5xx, no hang, no reset, 4xx in the catalogue envelope', () => {
    expect(report!.log.failures.map((f) => `${f.what} ${f.status ?? ''} ${f.request}: ${f.detail}`)).toEqual(
      [],
    );
  });
  it('created nothing from a refused request', () => {
    expect(report!.strays).toEqual([]);
  });
  it('kept concurrent identical creates to one VM each', () => {
    expect(report!.createProblems).toEqual([]);
  });
  it('left the platform healthy: API, host and the VM', () => {
    expect(report!.healthy).toEqual({ healthz: 200, hostState: 'ready', exec: 'still here' });
  });
});
