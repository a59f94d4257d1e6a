// Identity benchmark: the cost of authorization on GET /v1/vms with 1,000 VMs recorded (bootstrap
// admin token, a project member's token, an administrator's token, a browser session), and
// sign-in latency (POST /v1/auth/login: one scrypt hash per attempt, by design).
// Usage: node --import tsx bench/auth.ts [--vms 1000] [--gets 300] [--logins 30]
// Before/after: run `bench/api.ts` on a commit before identity for the unauthorized baseline.
import { HearthClient } from '@hearth/sdk';
import { startPlatform } from '../test/helpers/platform.ts';
import { testPgUrl } from '../test/helpers/pg.ts';
import { makeUser } from '../test/helpers/identity.ts';
import { arg, recordBenchVms, stats } from './lib.ts';

const total = arg('vms', 1000);
const gets = arg('gets', 300);
const logins = arg('logins', 30);

async function listLatency(label: string, call: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 20; i++) await call(); // warm-up: JIT, statement caches
  const lat: number[] = [];
  for (let i = 0; i < gets; i++) {
    const s = performance.now();
    await call();
    lat.push(performance.now() - s);
  }
  console.log(stats(label, lat));
}

for (const db of ['pglite', ...(testPgUrl() ? ['postgres'] : [])] as ('pglite' | 'postgres')[]) {
  const p = await startPlatform({ db });
  try {
    await recordBenchVms(p, total);
    const { stores } = p.manager;
    const member = await makeUser(stores, { roles: { default: 'operator' } });
    const admin = await makeUser(stores, { admin: true });
    const as = (token: string) => new HearthClient({ baseUrl: p.manager.url, token });
    const q = { query: { limit: 50 } };
    await listLatency(`[${db}] GET /v1/vms?limit=50, bootstrap token`, () => p.client.call('listVms', q));
    await listLatency(`[${db}] GET /v1/vms?limit=50, member token`, () =>
      as(member.token).call('listVms', q),
    );
    await listLatency(`[${db}] GET /v1/vms?limit=50, admin user token`, () =>
      as(admin.token).call('listVms', q),
    );

    const password = 'bench-password-1';
    await p.client.call('patchUser', { params: { id: member.name }, body: { password } });
    const lat: number[] = [];
    let cookie = '';
    for (let i = 0; i < logins; i++) {
      const s = performance.now();
      const res = await fetch(`${p.manager.url}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: member.name, password }),
      });
      lat.push(performance.now() - s);
      if (res.status !== 200) throw new Error(`login answered ${res.status}: ${await res.text()}`);
      cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
      // A success clears the failure counter; stay far from the rate limit anyway.
    }
    console.log(stats(`[${db}] POST /v1/auth/login (scrypt)`, lat));
    await listLatency(`[${db}] GET /v1/vms?limit=50, session cookie`, async () => {
      const r = await fetch(`${p.manager.url}/v1/vms?limit=50`, { headers: { cookie } });
      if (r.status !== 200) throw new Error(`list answered ${r.status}`);
      await r.arrayBuffer();
    });
  } finally {
    await p.dispose();
  }
}
