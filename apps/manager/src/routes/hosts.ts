import type { FastifyInstance } from 'fastify';
import { HearthError, parseDuration, routes } from '@hearth/contract';
import { hostFromRow } from '../store/mappers.ts';
import { joinTokenFromRow } from '../store/join-tokens.ts';
import { rotateHostCredentials } from '../services/host-rotation.ts';
import { removeHost } from '../services/host-removal.ts';
import { declareHostDead, fenceReturningHost, setCordon } from '../services/host-failure.ts';
import { serve } from '../http.ts';
import { pemPin } from '../tls/agent-ca.ts';
import type { AppServices } from '../app.ts';
import { recordHeartbeat } from '../services/metrics/record.ts';
import { snapshotVerifier } from '../backup/verify-snapshots.ts';

export function hostRoutes(
  app: FastifyInstance,
  { db, stores, vmService, networks, agents, agentCa, log, auth, history, webhooks }: AppServices,
): void {
  const t = auth;

  serve(app, t, routes.listHosts, async ({ query }) => {
    const page = await stores.hosts.list(query.limit, query.cursor);
    return { items: page.items.map(hostFromRow), nextCursor: page.nextCursor };
  });

  serve(app, t, routes.getHost, async ({ params }) => hostFromRow(await stores.hosts.require(params.id)));

  serve(app, t, routes.patchHost, async ({ params, body }) => {
    const id = await stores.hostPlacement.patch(params.id, body);
    log.info({ host: id, change: body }, 'host placement settings changed');
    return hostFromRow(await stores.hosts.require(id));
  });

  serve(app, t, routes.registerHost, async ({ body, principal }) => {
    const supplied = body.servingCertificate === undefined ? null : suppliedPin(body.servingCertificate);
    const { hostId, agentToken } = await stores.hostCredentials.register(principal, body);
    // A key and a certificate naming this host id: the agent serves its API with them. The agent
    // client accepts only the certificate pinned here for this host (issued now, or the operator's
    // the agent presented): every certificate the host held before is refused from now on.
    const tls = body.certificate === 'issue' && agentCa ? await agentCa.issue(hostId) : undefined;
    const pins = tls ? [pemPin(tls.cert)] : supplied ? [supplied] : null;
    await stores.hostCredentials.pinCertificates(hostId, pins, Boolean(tls));
    const row = (await stores.hosts.get(hostId))!;
    agents.live.seen(row);
    const by = principal.kind === 'agent' ? 'host credential' : 'join token';
    log.info({ host: hostId, name: body.name, url: body.url, by }, 'host registered');
    if (!body.url.startsWith('https:')) {
      log.warn({ host: hostId, url: body.url }, 'this agent serves plain HTTP: its traffic is not encrypted');
    }
    // Overlays on other hosts learn this one's underlay address (in the background).
    if (body.inventory.underlay) void networks.refreshOverlays();
    return { host: hostFromRow(row), agentToken, ...(tls ? { tls } : {}) };
  });

  serve(app, t, routes.listJoinTokens, async ({ query }) => {
    const page = await stores.joinTokens.list(query.limit, query.cursor);
    return { items: page.items.map(joinTokenFromRow), nextCursor: page.nextCursor };
  });

  serve(app, t, routes.createJoinToken, async ({ body }) => {
    const expiresAt = new Date(Date.now() + parseDuration(body.expiresIn)!);
    const { row, token } = await stores.joinTokens.create({
      name: body.name,
      expiresAt,
      uses: body.uses ?? 1,
    });
    return { ...joinTokenFromRow(row), token };
  });

  serve(app, t, routes.deleteJoinToken, ({ params }) => stores.joinTokens.revoke(params.id));

  serve(app, t, routes.rotateHostCredentials, async ({ params }) =>
    rotateHostCredentials({ stores, agents, agentCa, log }, params.id),
  );

  serve(app, t, routes.removeHost, async ({ params, query, actor }) =>
    removeHost({ db, stores, vmService, agents, log }, params.id, query.force === 'true', actor),
  );

  serve(app, t, routes.cordonHost, ({ params, actor }) => setCordon({ stores, log }, params.id, true, actor));
  serve(app, t, routes.uncordonHost, ({ params, actor }) =>
    setCordon({ stores, log }, params.id, false, actor),
  );
  serve(app, t, routes.declareHostDead, ({ params, actor }) =>
    declareHostDead({ stores, vmService, agents, log, webhooks }, params.id, actor),
  );

  const sameHost = (principalHost: string | null, id: string) => {
    if (principalHost !== id)
      throw new HearthError('FORBIDDEN', 'An agent may only report for its own host.');
  };

  const verifySnapshots = snapshotVerifier({ db, stores, agents, log });
  serve(app, t, routes.heartbeat, async ({ params, body, principal }) => {
    // What the report says is as old as its arrival: a VM changed since then is not judged by it.
    const receivedAt = performance.now();
    sameHost(principal.hostId, params.id);
    const host = await stores.hosts.heartbeat(params.id, body.inventory);
    if (!host) {
      throw new HearthError('HOST_NOT_FOUND', `Heartbeat failed: host ${params.id} is not registered.`);
    }
    agents.live.seen(host);
    // A host declared dead that came back destroys the VMs that run elsewhere now or are lost.
    await fenceReturningHost({ stores, agents, log }, host, body.vms);
    await vmService.reconcile(params.id, body.vms, true, receivedAt);
    // After a backup restore: the host's snapshots are checked in the background (verify-snapshots.ts).
    verifySnapshots(host);
    await recordHeartbeat(history, stores, params.id, body).catch((e: Error) =>
      log.warn({ host: params.id, err: e.message }, 'keeping the heartbeat samples failed'),
    );
    return { ok: true, networks: (await stores.networks.all()).map((n) => n.id) };
  });

  serve(app, t, routes.reportVmStatus, async ({ params, body, principal }) => {
    sameHost(principal.hostId, params.id);
    await vmService.reconcile(params.id, body.vms, false);
    return { ok: true };
  });
}

/** The pin of the certificate an agent says it serves (operator-supplied); a 400 when it is none. */
function suppliedPin(pem: string): string {
  try {
    return pemPin(pem);
  } catch (e) {
    throw new HearthError(
      'VALIDATION_FAILED',
      `Registering the host failed: servingCertificate is not a PEM certificate (${(e as Error).message}).`,
      { fields: { servingCertificate: ['a PEM certificate'] } },
    );
  }
}
