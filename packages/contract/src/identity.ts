import { z } from 'zod';
import { Name, PageQuery, parseDuration, Timestamp } from './common.ts';
import { PROJECT_ROLES } from './route-roles.ts';

export const ProjectRoleSchema = z.enum(PROJECT_ROLES);

/** Lifetimes of credentials: `30m`, `12h`, `90d`; at most two years. */
export const Lifetime = z
  .string()
  .regex(/^\d+(s|m|h|d)$/, 'must be a number and a unit: s, m, h or d (e.g. 90d)')
  .refine((t) => (parseDuration(t) ?? Infinity) <= 731 * 86_400_000, 'must be at most 731d');

/** A password as typed: never echoed, never logged. */
export const Password = z.string().min(8, 'must be at least 8 characters').max(1024);

export const User = z
  .object({
    id: z.string(),
    name: z.string(),
    displayName: z.string(),
    email: z.string().nullable(),
    admin: z.boolean(),
    disabled: z.boolean(),
    /** Signs in through the identity provider (single sign-on). */
    sso: z.boolean(),
    hasPassword: z.boolean(),
    createdAt: Timestamp,
    lastSignInAt: Timestamp.nullable(),
  })
  .meta({ id: 'User' });
export type User = z.infer<typeof User>;

export const CreateUserBody = z
  .strictObject({
    name: Name.describe('Sign-in name: a DNS label.'),
    password: Password.optional().describe('Omit for a user who signs in only with single sign-on.'),
    displayName: z.string().max(200).optional(),
    email: z.email().optional(),
    admin: z.boolean().default(false),
  })
  .meta({ id: 'CreateUserBody' });

export const PatchUserBody = z
  .strictObject({
    displayName: z.string().max(200).optional(),
    email: z.email().nullable().optional(),
    admin: z.boolean().optional(),
    disabled: z
      .boolean()
      .optional()
      .describe('A disabled user cannot sign in; its sessions and tokens stop working.'),
    password: Password.optional(),
    defaultProject: Name.nullable().optional(),
  })
  .meta({ id: 'PatchUserBody' });

/** Per-project limits; null or absent is unlimited. */
export const ProjectQuotas = z
  .strictObject({
    vms: z.number().int().min(0).nullable().optional(),
    vcpus: z.number().int().min(0).nullable().optional(),
    memoryMib: z.number().int().min(0).nullable().optional(),
    diskMib: z.number().int().min(0).nullable().optional(),
    snapshots: z.number().int().min(0).nullable().optional(),
    volumes: z.number().int().min(0).nullable().optional(),
    networks: z.number().int().min(0).nullable().optional(),
    publishedPorts: z.number().int().min(0).nullable().optional(),
  })
  .meta({ id: 'ProjectQuotas' });
export type ProjectQuotas = z.infer<typeof ProjectQuotas>;
export const QUOTA_NAMES = [
  'vms',
  'vcpus',
  'memoryMib',
  'diskMib',
  'snapshots',
  'volumes',
  'networks',
  'publishedPorts',
] as const;
export type QuotaName = (typeof QUOTA_NAMES)[number];

export const ProjectUsage = z.object(
  Object.fromEntries(QUOTA_NAMES.map((q) => [q, z.number().int()])) as Record<QuotaName, z.ZodNumber>,
);
export type ProjectUsage = z.infer<typeof ProjectUsage>;

export const Project = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    quotas: ProjectQuotas,
    usage: ProjectUsage,
    /** The caller's role here (administrators: owner). */
    role: ProjectRoleSchema,
    createdAt: Timestamp,
  })
  .meta({ id: 'Project' });
export type Project = z.infer<typeof Project>;

export const CreateProjectBody = z
  .strictObject({
    name: Name,
    description: z.string().max(500).default(''),
    quotas: ProjectQuotas.default({}),
  })
  .meta({ id: 'CreateProjectBody' });

export const PatchProjectBody = z
  .strictObject({
    description: z.string().max(500).optional(),
    quotas: ProjectQuotas.optional().describe('Merged into the current quotas; null removes a limit.'),
  })
  .meta({ id: 'PatchProjectBody' });

export const Member = z
  .object({ userId: z.string(), userName: z.string(), role: ProjectRoleSchema, createdAt: Timestamp })
  .meta({ id: 'Member' });
export type Member = z.infer<typeof Member>;

export const MemberParams = z.strictObject({
  id: z.string().min(1).max(128),
  user: z.string().min(1).max(128).describe('User id or name.'),
});
export const PutMemberBody = z.strictObject({ role: ProjectRoleSchema }).meta({ id: 'PutMemberBody' });

export const Me = z
  .object({
    /** Null for the bootstrap admin token, which has no user behind it. */
    user: User.nullable(),
    admin: z.boolean(),
    via: z.enum(['token', 'session', 'ticket']),
    projects: z.array(z.object({ name: z.string(), role: ProjectRoleSchema })),
    defaultProject: z.string(),
    /** The value cookie-authenticated writes send as `X-CSRF-Token` (sessions only). */
    csrf: z.string().nullable(),
    /** A token's role ceiling and project scope, when the credential is a scoped token. */
    ceiling: z.enum([...PROJECT_ROLES, 'admin']).nullable(),
    scope: z.string().nullable(),
  })
  .meta({ id: 'Me' });
export type Me = z.infer<typeof Me>;

export const LoginBody = z
  .strictObject({
    username: z.string().min(1).max(200),
    password: z.string().min(1).max(1024),
    /** `session`: an HTTP-only cookie for the browser; `token`: a new API token (the CLI). */
    issue: z.enum(['session', 'token']).default('session'),
    tokenName: z.string().min(1).max(100).optional(),
    expiresIn: Lifetime.optional().describe('Lifetime of an issued token (default: never expires).'),
  })
  .meta({ id: 'LoginBody' });

export const LoginResponse = z
  .object({
    user: User,
    expiresAt: Timestamp.nullable(),
    csrf: z.string().nullable(),
    /** The API token, shown this once (issue: token). */
    token: z.string().nullable(),
  })
  .meta({ id: 'LoginResponse' });

export const AuthConfig = z
  .object({
    password: z.boolean(),
    oidc: z.object({ enabled: z.boolean(), name: z.string().nullable() }),
  })
  .meta({ id: 'AuthConfig' });

export const Ticket = z
  .object({
    ticket: z.string().describe('Pass as `?ticket=` to one WebSocket or event stream within its lifetime.'),
    expiresAt: Timestamp,
  })
  .meta({ id: 'Ticket' });

export const OidcStartQuery = z.strictObject({
  returnTo: z.string().max(2000).optional().describe('A path on this site to land on after signing in.'),
});
export const OidcCallbackQuery = z.object({
  code: z.string().max(4096).optional(),
  state: z.string().max(512).optional(),
  error: z.string().max(512).optional(),
  error_description: z.string().max(2000).optional(),
  iss: z.string().max(2000).optional(),
});

export const ApiToken = z
  .object({
    id: z.string(),
    name: z.string(),
    userId: z.string().nullable(),
    userName: z.string().nullable(),
    kind: z.enum(['user', 'admin']),
    role: z.enum([...PROJECT_ROLES, 'admin']).nullable(),
    project: z.string().nullable(),
    createdAt: Timestamp,
    expiresAt: Timestamp.nullable(),
    lastUsedAt: Timestamp.nullable(),
  })
  .meta({ id: 'ApiToken' });
export type ApiToken = z.infer<typeof ApiToken>;

export const CreateTokenBody = z
  .strictObject({
    name: z.string().min(1).max(100),
    expiresIn: Lifetime.optional().describe('Omit for a token that does not expire.'),
    role: z
      .enum([...PROJECT_ROLES, 'admin'])
      .optional()
      .describe('Role ceiling: the token never acts above it.'),
    project: Name.optional().describe('Project scope: the token acts in this project only.'),
    format: z
      .enum(['hearth', 'e2b'])
      .optional()
      .describe('e2b: a secret shaped e2b_<40 hex digits>, as E2B SDKs expect of E2B_API_KEY (docs/e2b.md).'),
  })
  .meta({ id: 'CreateTokenBody' });

export const CreatedToken = ApiToken.extend({
  token: z.string().describe('The secret, shown this once.'),
}).meta({ id: 'CreatedToken' });

export const ListTokensQuery = PageQuery.extend({
  user: z.string().max(128).optional().describe('Administrators: another user’s tokens (id or name).'),
  all: z
    .enum(['true', 'false'])
    .optional()
    .describe('Administrators: every token, the bootstrap one included.'),
});

export const AuditRecord = z
  .object({
    id: z.string(),
    seq: z.number().int(),
    at: Timestamp,
    actor: z.object({
      kind: z.enum(['user', 'admin', 'agent', 'join', 'anonymous']),
      id: z.string().nullable(),
      name: z.string(),
    }),
    tokenId: z.string().nullable(),
    source: z.string().nullable(),
    /** The route id (`createVm`, `login`, …). */
    action: z.string(),
    method: z.string().nullable(),
    path: z.string().nullable(),
    target: z.string().nullable(),
    project: z.string().nullable(),
    outcome: z.enum(['success', 'failure', 'denied']),
    status: z.number().int().nullable(),
    code: z.string().nullable(),
    requestId: z.string().nullable(),
  })
  .meta({ id: 'AuditRecord' });
export type AuditRecord = z.infer<typeof AuditRecord>;

export const AuditQuery = PageQuery.extend({
  actor: z.string().max(200).optional().describe('User name or id.'),
  action: z.string().max(100).optional(),
  target: z.string().max(200).optional(),
  outcome: z.enum(['success', 'failure', 'denied']).optional(),
  since: Timestamp.optional(),
  until: Timestamp.optional(),
  project: Name.optional(),
  all: z
    .enum(['true', 'false'])
    .optional()
    .describe('Administrators: records of every project and of the platform, not only one project.'),
});

export const JoinToken = z
  .object({
    id: z.string(),
    name: z.string(),
    createdAt: Timestamp,
    expiresAt: Timestamp.nullable(),
    lastUsedAt: Timestamp.nullable(),
    /** Registrations left (null: unlimited until it expires). */
    usesLeft: z.number().int().nullable(),
  })
  .meta({ id: 'JoinToken' });

export const CreateJoinTokenBody = z
  .strictObject({
    name: z.string().min(1).max(100),
    expiresIn: Lifetime.default('24h'),
    uses: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .optional()
      .describe('How many hosts may register with it (default 1).'),
  })
  .meta({ id: 'CreateJoinTokenBody' });

export const CreatedJoinToken = JoinToken.extend({ token: z.string() }).meta({ id: 'CreatedJoinToken' });

export const HostCredentials = z
  .object({ hostId: z.string(), rotatedAt: Timestamp })
  .meta({ id: 'HostCredentials' });
