import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration } from 'oidc-provider';

/** A person known to the test provider: their login is their subject. */
export interface TestAccount {
  preferred_username?: string;
  email?: string;
  name?: string;
  groups?: string[];
}

export interface TestProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  accounts: Map<string, TestAccount>;
  /** Registers the client once the manager's callback URL is known (the provider starts first). */
  register(redirectUri: string): void;
  dispose(): Promise<void>;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * A real OpenID Connect provider (the `oidc-provider` package) on a loopback port, with one
 * confidential client (client_secret_basic, PKCE required) and interaction endpoints a test
 * drives with plain HTTP: GET /interaction/UID says which prompt is pending as JSON;
 * POST /interaction/UID/login (form `login`) signs an account in; POST /interaction/UID/confirm
 * grants what the client asked for; POST /interaction/UID/abort declines.
 */
export async function startTestProvider(): Promise<TestProvider> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = 'hearth-test';
  const clientSecret = randomBytes(24).toString('hex');
  const accounts = new Map<string, TestAccount>();
  const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

  let provider: Provider | null = null;

  const interaction = async (req: IncomingMessage, res: ServerResponse, p: Provider) => {
    const [, , uid, action] = (req.url ?? '').split('?')[0]!.split('/');
    const details = await p.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error('interaction uid mismatch');
    if (req.method === 'GET') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ uid, prompt: details.prompt.name }));
      return;
    }
    if (action === 'login') {
      const login = (await readForm(req)).get('login') ?? '';
      if (!accounts.has(login)) {
        res.statusCode = 400;
        res.end('unknown account');
        return;
      }
      await p.interactionFinished(
        req,
        res,
        { login: { accountId: login } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    if (action === 'confirm') {
      const { prompt, params, session, grantId } = details;
      const grant = grantId
        ? ((await p.Grant.find(grantId)) ?? new p.Grant({ accountId: session!.accountId, clientId }))
        : new p.Grant({ accountId: session!.accountId, clientId: params.client_id as string });
      const missing = prompt.details as {
        missingOIDCScope?: string[];
        missingOIDCClaims?: string[];
        missingResourceScopes?: Record<string, string[]>;
      };
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      const saved = await grant.save();
      await p.interactionFinished(
        req,
        res,
        { consent: { grantId: saved } },
        { mergeWithLastSubmission: true },
      );
      return;
    }
    if (action === 'abort') {
      await p.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'the person declined' },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    res.statusCode = 404;
    res.end();
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!provider) {
      res.statusCode = 503;
      res.end('no client registered yet');
      return;
    }
    const p = provider;
    if (req.url?.startsWith('/interaction/')) {
      interaction(req, res, p).catch((e: unknown) => {
        res.statusCode = 500;
        res.end(String(e));
      });
      return;
    }
    p.callback()(req, res);
  });

  return {
    issuer,
    clientId,
    clientSecret,
    accounts,
    register(redirectUri) {
      const config: Configuration = {
        clients: [
          {
            client_id: clientId,
            client_secret: clientSecret,
            redirect_uris: [redirectUri],
            token_endpoint_auth_method: 'client_secret_basic',
            grant_types: ['authorization_code'],
            response_types: ['code'],
          },
        ],
        pkce: { required: () => true },
        jwks: { keys: [{ ...jwk, kid: 'test', use: 'sig', alg: 'RS256' }] as never },
        cookies: { keys: [randomBytes(16).toString('hex')] },
        scopes: ['openid', 'profile', 'email', 'groups'],
        claims: {
          openid: ['sub'],
          profile: ['name', 'preferred_username'],
          email: ['email'],
          groups: ['groups'],
        },
        features: { devInteractions: { enabled: false } },
        // Fixed lifetimes (seconds), longer than any test takes.
        ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600 },
        interactions: { url: (_ctx, i) => `/interaction/${i.uid}` },
        findAccount: (_ctx, sub) => {
          const a = accounts.get(sub);
          if (!a) return undefined;
          return { accountId: sub, claims: () => ({ sub, ...a }) };
        },
      };
      provider = new Provider(issuer, config);
    },
    async dispose() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
