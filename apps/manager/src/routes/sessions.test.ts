import { expect, it } from 'vitest';
import { describeOnBackends, useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { capturingLog } from '../../../../test/helpers/capturing-log.ts';
import { passwordUser, signIn } from './auth-test-helpers.ts';

describeOnBackends('sessions and tickets', (db) => {
  const captured = capturingLog();
  const api = useApiPlatform({
    db,
    platform: {
      log: captured.log,
      manager: { sessionTtlMs: 2 * 3_600_000, sessionIdleMs: 3_600_000, adminPassword: 'first-admin-pass' },
    },
  });
  const m = () => api.p.manager;
  const get = (url: string, headers: Record<string, string> = {}) =>
    m().app.inject({ method: 'GET', url, headers });
  const ticketFor = async (headers: Record<string, string>) => {
    const r = await m().app.inject({ method: 'POST', url: '/v1/auth/tickets', headers });
    expect(r.statusCode).toBe(201);
    return r.json() as { ticket: string; expiresAt: string };
  };
  const sessionId = async (userId: string) =>
    (await m().db.query<{ id: string }>('SELECT id FROM sessions WHERE user_id = $1', [userId]))[0]!.id;

  it('takes the first administrator password from the settings, without writing it anywhere', async () => {
    expect(m().firstAdmin).toEqual({ name: 'admin', password: null, passwordFile: null });
    await signIn(m(), 'admin', 'first-admin-pass');
  });

  it('ends a session at its absolute expiry and when idle too long (configured)', async () => {
    const u = await passwordUser(m());
    const s = await signIn(m(), u.name, u.password);
    const expires = await m().db.query<{ left: number }>(
      'SELECT extract(epoch FROM expires_at - now())::float AS left FROM sessions WHERE user_id = $1',
      [u.id],
    );
    // The configured 2 h lifetime, not the 7 d default.
    expect(expires[0]!.left).toBeGreaterThan(3_600);
    expect(expires[0]!.left).toBeLessThanOrEqual(7_200);
    expect((await get('/v1/vms', s.headers())).statusCode).toBe(200);
    await m().db.query(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      await sessionId(u.id),
    ]);
    const ended = await get('/v1/vms', s.headers());
    expect(ended.statusCode).toBe(401);
    expect(ended.json().error.code).toBe('SESSION_EXPIRED');

    const idle = await signIn(m(), u.name, u.password);
    const id = (
      await m().db.query<{ id: string }>(
        'SELECT id FROM sessions WHERE user_id = $1 AND expires_at > now()',
        [u.id],
      )
    )[0]!.id;
    // Seen 59 minutes ago: still within the 1 h idle timeout.
    await m().db.query(`UPDATE sessions SET last_seen_at = now() - interval '59 minutes' WHERE id = $1`, [
      id,
    ]);
    expect((await get('/v1/vms', idle.headers())).statusCode).toBe(200);
    await m().db.query(`UPDATE sessions SET last_seen_at = now() - interval '61 minutes' WHERE id = $1`, [
      id,
    ]);
    const idled = await get('/v1/vms', idle.headers());
    expect(idled.statusCode).toBe(401);
    expect(idled.json().error.code).toBe('SESSION_EXPIRED');
    // Without any credential the answer stays UNAUTHENTICATED.
    expect((await get('/v1/vms')).json().error.code).toBe('UNAUTHENTICATED');
  });

  it('gives single-use tickets that open the event stream and WebSockets only, and expire', async () => {
    const first = await ticketFor(api.admin());
    expect(Date.parse(first.expiresAt) - Date.now()).toBeLessThanOrEqual(30_000);
    // Not a credential for ordinary routes (and not used up by them).
    const plain = await get(`/v1/vms?ticket=${first.ticket}`);
    expect(plain.statusCode).toBe(401);
    // A WebSocket route authenticates by it (then answers for the VM, which does not exist).
    const ws = await get(`/v1/vms/vm_nothing/console?ticket=${first.ticket}`);
    expect(ws.json().error.code).toBe('VM_NOT_FOUND');
    const again = await get(`/v1/vms/vm_nothing/console?ticket=${first.ticket}`);
    expect(again.statusCode).toBe(401);
    expect(again.json().error.code).toBe('TICKET_INVALID');

    const late = await ticketFor(api.admin());
    await m().db.query(`UPDATE tickets SET expires_at = now() - interval '1 second'`);
    const expired = await get(`/v1/vms/vm_nothing/shell?ticket=${late.ticket}`);
    expect(expired.json().error.code).toBe('TICKET_INVALID');
  });

  it('refuses a token in a WebSocket URL, and takes the header or the session cookie there', async () => {
    const byToken = await get(`/v1/vms/vm_nothing/console?token=${m().adminToken}`);
    expect(byToken.statusCode).toBe(401);
    expect(byToken.json().error.code).toBe('UNAUTHENTICATED');
    expect((await get('/v1/vms/vm_nothing/console', api.admin())).json().error.code).toBe('VM_NOT_FOUND');
    const u = await passwordUser(m());
    const s = await signIn(m(), u.name, u.password);
    expect((await get('/v1/vms/vm_nothing/metrics/stream', s.headers())).json().error.code).toBe(
      'VM_NOT_FOUND',
    );
    // A page of another origin (another port of this host is the same site) gets nothing.
    const foreign = await get('/v1/vms/vm_nothing/console', {
      ...s.headers(),
      host: 'hearth.test',
      origin: 'http://hearth.test:9999',
    });
    expect(foreign.statusCode).toBe(401);
  });

  it('a ticket stands for the user who asked for it', async () => {
    const u = await passwordUser(m());
    const s = await signIn(m(), u.name, u.password);
    const t = await ticketFor(s.headers(true));
    const row = await m().db.query<{ principal: { userId: string; via: string; csrf: unknown } }>(
      'SELECT principal FROM tickets',
    );
    const mine = row.find((r) => r.principal.userId === u.id)!;
    expect(mine.principal).toMatchObject({ via: 'ticket', csrf: null });
    expect((await get(`/v1/vms/vm_nothing/console?ticket=${t.ticket}`)).json().error.code).toBe(
      'VM_NOT_FOUND',
    );
  });

  it('never writes a password, token, ticket or session secret to the log', async () => {
    const u = await passwordUser(m());
    await m().app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { username: u.name, password: 'wrong-password-in-log-test' },
    });
    const s = await signIn(m(), u.name, u.password);
    const t = await ticketFor(s.headers(true));
    await get(`/v1/vms/vm_nothing/console?ticket=${t.ticket}`);
    await get(`/v1/vms/vm_nothing/console?ticket=${t.ticket}`);
    await get(`/v1/vms/vm_nothing/console?token=${m().adminToken}`);
    await m().app.inject({
      method: 'POST',
      url: `/v1/vms?token=${m().adminToken}`,
      headers: { ...api.admin(), cookie: s.cookie },
      payload: { bad: true },
    });
    const text = captured.lines.join('');
    // The lines are there (the check is not vacuous), without their secrets.
    expect(text).toContain('/v1/vms/vm_nothing/console?ticket=[redacted]');
    expect(text).toContain('sign-in failed');
    for (const secret of [
      'wrong-password-in-log-test',
      u.password,
      t.ticket,
      m().adminToken,
      s.cookie.split('=')[1]!,
      s.csrf,
    ]) {
      expect(text).not.toContain(secret);
    }
  });

  it('keeps sessions across a manager restart', async () => {
    const u = await passwordUser(m());
    const s = await signIn(m(), u.name, u.password);
    await m().dispose();
    await api.p.startManager();
    expect((await get('/v1/vms', s.headers())).statusCode).toBe(200);
    expect(m().firstAdmin).toBeNull();
  });
});
