// The full fuzz run of the public API (16,000 requests by default) against a platform with one
// running VM; the CI variant is test/e2e/fuzz.test.ts. Prints the seed, the status histogram,
// the time and every failure; exits 1 when anything failed.
// Usage: node --import tsx bench/fuzz.ts [--requests 16000] [--width 4]   (HEARTH_FUZZ_SEED=… replays)
import { fuzzSeed, runFuzz, summary } from '../test/helpers/fuzz-run.ts';
import { arg } from './lib.ts';

const seed = fuzzSeed();
console.log(`fuzz seed ${seed} (replay with HEARTH_FUZZ_SEED=${seed})`);
const report = await runFuzz({ requests: arg('requests', 16_000), width: arg('width', 4), seed });
try {
  console.log(summary(report));
  for (const f of report.log.failures) console.log(`${f.what} ${f.status ?? ''} ${f.request}: ${f.detail}`);
  const ok =
    !report.log.failures.length &&
    !report.strays.length &&
    !report.createProblems.length &&
    report.healthy.exec === 'still here' &&
    report.healthy.healthz === 200;
  process.exitCode = ok ? 0 : 1;
} finally {
  await report.dispose();
}
