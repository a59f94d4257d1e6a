// Concurrent creates in one project (`start: false`, PostgreSQL): how many VM records per second
// when `--concurrency` clients create at once. Creates in one project used to queue on the
// project's row lock for their whole transaction (services/quotas.ts); this measures that path.
// Usage: bash scripts/with-pg.sh node --import tsx bench/project-creates.ts [--creates 200] [--concurrency 16]
import { runAgentProcess, startPlatform } from '../test/helpers/platform.ts';
import { arg, percentile } from './lib.ts';

// The default /24 network holds 253 addresses.
const creates = arg('creates', 200);
const concurrency = arg('concurrency', 16);

const p = await startPlatform({ db: 'postgres', agent: false });
const agent = runAgentProcess(p, `test-${p.net.bridge}`);
try {
  await agent.waitFor('agent registered');
  for (let i = 0; i < 10; i++) await p.client.call('createVm', { body: { name: `warm-${i}`, start: false } });
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < creates) {
      const i = next++;
      const s = performance.now();
      await p.client.call('createVm', { body: { name: `c-${i}`, start: false } });
      lat.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallS = (performance.now() - t0) / 1000;
  lat.sort((x, y) => x - y);
  console.log(
    `${creates} creates in one project, ${concurrency} at a time: ${(creates / wallS).toFixed(1)} creates/s ` +
      `(${wallS.toFixed(1)} s), request p50 ${percentile(lat, 50).toFixed(0)} ms, p95 ${percentile(lat, 95).toFixed(0)} ms`,
  );
} finally {
  await agent.kill();
  await p.dispose();
}
