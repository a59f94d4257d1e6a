/**
 * The identity part of the one error catalogue (users, sessions, tokens, projects, quotas, single
 * sign-on, host identity), spread into `errorCatalogue` in errors.ts: same rules, codes never reused.
 */
export const identityErrors = {
  ROLE_REQUIRED: {
    status: 403,
    hint: 'Ask an owner of the project for a role that allows this (`detail` names the role needed and yours); `hearth whoami` lists your roles.',
  },
  ADMIN_REQUIRED: {
    status: 403,
    hint: 'Only a platform administrator may do this; ask one, or use an admin account.',
  },
  TOKEN_SCOPE_EXCEEDED: {
    status: 403,
    hint: "The token's project scope or role ceiling does not cover this request; create a token with a wider scope (`hearth token create`).",
  },
  PROJECT_NOT_FOUND: {
    status: 404,
    hint: 'List the projects you belong to with `hearth project ls`; pass one with `--project` or the `X-Hearth-Project` header.',
  },
  PROJECT_NAME_TAKEN: { status: 409, hint: 'Choose another project name.' },
  PROJECT_NOT_EMPTY: {
    status: 409,
    hint: 'Delete the resources of the project first (`detail` counts them by kind).',
  },
  USER_NOT_FOUND: { status: 404, hint: 'List users with `hearth user ls` (administrators only).' },
  USER_NAME_TAKEN: { status: 409, hint: 'Choose another user name.' },
  USER_DISABLED: { status: 403, hint: 'The account is disabled; ask an administrator to enable it.' },
  INVALID_CREDENTIALS: {
    status: 401,
    hint: 'Check the user name and password; after several failures sign-in is paused for a while.',
  },
  TOO_MANY_SIGN_IN_ATTEMPTS: {
    status: 429,
    hint: 'Too many failed sign-ins for this user or address; wait for the time in Retry-After and try again.',
  },
  TOKEN_EXPIRED: {
    status: 401,
    hint: 'Create a new token (`hearth token create`) or sign in again (`hearth login`).',
  },
  TOKEN_NOT_FOUND: { status: 404, hint: 'List your tokens with `hearth token ls`.' },
  SESSION_EXPIRED: { status: 401, hint: 'Sign in again.' },
  CSRF_FAILED: {
    status: 403,
    hint: 'Cookie-authenticated writes need the `X-CSRF-Token` header with the `csrf` value from the sign-in answer (or GET /v1/me); or use a bearer token.',
  },
  TICKET_INVALID: {
    status: 401,
    hint: 'Tickets are single-use and short-lived: get a new one from POST /v1/auth/tickets right before connecting.',
  },
  PROXY_PASS_INVALID: {
    status: 401,
    hint: 'The pass is unknown or expired, or its creator no longer holds the operator role: open the app again from the dashboard (POST /v1/vms/{id}/proxy-passes).',
  },
  QUOTA_EXCEEDED: {
    status: 409,
    hint: "The project's quota would be exceeded (`detail` names the quota, its use and its limit); free resources or ask an administrator to raise it.",
  },
  MEMBER_NOT_FOUND: { status: 404, hint: 'List the members with `hearth project members PROJECT`.' },
  LAST_OWNER: { status: 409, hint: 'A project keeps at least one owner: make someone else owner first.' },
  OIDC_NOT_CONFIGURED: {
    status: 404,
    hint: 'Single sign-on is off: start the manager with HEARTH_OIDC_ISSUER, HEARTH_OIDC_CLIENT_ID and HEARTH_OIDC_CLIENT_SECRET.',
  },
  OIDC_FAILED: {
    status: 401,
    hint: 'The identity provider refused or the callback did not match the sign-in that started it; start the sign-in again.',
  },
  HOST_IDENTITY_MISMATCH: {
    status: 409,
    hint: "A host with this name is registered: re-register with that host's current agent credential, or remove the old host first.",
  },
  OIDC_PROVIDER_UNREACHABLE: {
    status: 502,
    hint: "The manager could not read the identity provider's discovery document (HEARTH_OIDC_ISSUER/.well-known/openid-configuration): check the issuer URL and that the manager can reach it; `detail` has the cause.",
  },
  PROJECT_BUILTIN: {
    status: 409,
    hint: 'The `default` project is built in and cannot be deleted; delete its resources instead.',
  },
} as const satisfies Record<string, { status: number; hint: string; retired?: boolean }>;
