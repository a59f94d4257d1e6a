import { expect, it } from 'vitest';
import { describeOnBackends, useApiPlatform } from '../../../test/helpers/api-harness.ts';
import { fakeInventory } from '../../../test/helpers/fake-host.ts';
import { IdempotencyStore } from './store/idempotency.ts';

// Idempotency-Keys expire, and a key whose first request died with its manager (left "in
// progress") does not block a retry: at once when its process is known to be gone, else after
// the pending timeout. Time passes by moving rows back in the database.
describeOnBackends('Idempotency-Key lifetime', (db) => {
  const api = useApiPlatform({ db, platform: { manager: { idempotencyRetention: '1h' } } });
  const create = (name: string, key: string) =>
    api.inject({
      method: 'POST',
      url: '/v1/vms',
      payload: { start: false, name },
      headers: { 'idempotency-key': key },
    });
  const age = (key: string, interval: string) =>
    api.p.manager.db.query(
      `UPDATE idempotency_keys SET created_at = now() - interval '${interval}' WHERE key = $1`,
      [key],
    );
  const principal = async () => {
    expect((await create('idem-probe', 'probe')).statusCode).toBe(201);
    const rows = await api.p.manager.db.query<{ principal: string }>(
      `SELECT principal FROM idempotency_keys WHERE key = 'probe'`,
    );
    return rows[0]!.principal;
  };

  it('takes over at once a key left in progress by a manager process that is gone (a restart)', async () => {
    const who = await principal();
    // The first request claimed the key, then the manager went away before it finished.
    const body = { start: false, name: 'idem-crash' };
    const crashed = await api.p.manager.stores.idempotency.claim(
      'crash',
      who,
      IdempotencyStore.hashBody(body),
    );
    expect(crashed.kind).toBe('new');
    await api.p.manager.dispose();
    await api.p.startManager();
    // The restarted manager trusts the host again once its agent beats.
    const host = (await api.inject({ method: 'GET', url: '/v1/hosts/fake-host' })).json();
    const beat = await api.p.manager.app.inject({
      method: 'POST',
      url: `/v1/hosts/${host.id}/heartbeat`,
      headers: { authorization: `Bearer ${api.agentToken}` },
      payload: { inventory: fakeInventory, vms: [] },
    });
    expect(beat.statusCode, beat.body).toBe(200);
    // The claim names the process that made it, which is gone: the retry runs at once, once.
    const retry = await create('idem-crash', 'crash');
    expect(retry.statusCode, retry.body).toBe(201);
    const replay = await create('idem-crash', 'crash');
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json().id).toBe(retry.json().id);
    // The dead request's claim can no longer complete or release the key it lost.
    const { stores } = api.p.manager;
    if (crashed.kind !== 'new') throw new Error('unreachable');
    await stores.idempotency.complete('crash', who, crashed.claim, 500, { stale: true });
    await stores.idempotency.release('crash', who, crashed.claim);
    expect((await create('idem-crash', 'crash')).json().id).toBe(retry.json().id);
  });

  it("waits on a live replica's claim, takes it over once that replica is silent, and waits out the timeout for an unnamed one", async () => {
    const who = await principal();
    const claimedBy = (key: string, name: string, replica: string | null) =>
      api.p.manager.db.query(
        `INSERT INTO idempotency_keys (key, principal, request_hash, status, claim, replica)
         VALUES ($1, $2, $3, 0, 'other-claim', $4)`,
        [key, who, IdempotencyStore.hashBody({ start: false, name }), replica],
      );
    await api.p.manager.db.query(
      `INSERT INTO manager_replicas (id, seen_at) VALUES ('mgr_other', now())
       ON CONFLICT (id) DO UPDATE SET seen_at = now()`,
    );
    await claimedBy('busy', 'idem-busy', 'mgr_other#0a1b2c');
    const held = await create('idem-busy', 'busy');
    expect(held.statusCode).toBe(422);
    expect(held.json().error.message).toContain('still in progress');
    // That replica stops renewing its presence (it died): its claim is taken over.
    await api.p.manager.db.query(
      `UPDATE manager_replicas SET seen_at = now() - interval '10 minutes' WHERE id = 'mgr_other'`,
    );
    const taken = await create('idem-busy', 'busy');
    expect(taken.statusCode, taken.body).toBe(201);
    // A claim that names no process (made before claims did): the pending timeout (5 min) decides.
    await claimedBy('unnamed', 'idem-unnamed', null);
    expect((await create('idem-unnamed', 'unnamed')).statusCode).toBe(422);
    await age('unnamed', '6 minutes');
    expect((await create('idem-unnamed', 'unnamed')).statusCode).toBe(201);
  });

  it('forgets a key after the retention and sweeps it', async () => {
    const first = await create('idem-old', 'old');
    expect(first.statusCode).toBe(201);
    // Within the retention (1h here) the same key with another body is refused...
    expect((await create('idem-other', 'old')).json().error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    // ...past it the key is free again, before any sweep ran.
    await age('old', '2 hours');
    const again = await create('idem-other', 'old');
    expect(again.statusCode, again.body).toBe(201);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    await age('old', '2 hours');
    expect(await api.p.manager.stores.idempotency.sweep()).toBeGreaterThanOrEqual(1);
    const left = await api.p.manager.db.query(`SELECT 1 FROM idempotency_keys WHERE key = 'old'`);
    expect(left).toHaveLength(0);
  });
});
