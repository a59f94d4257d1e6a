/**
 * The operations part of the one error catalogue (host removal, manager ↔ agent TLS), spread
 * into `errorCatalogue` in errors.ts: same rules, codes never reused.
 */
export const opsErrors = {
  DATABASE_UNAVAILABLE: {
    status: 503,
    hint: "The manager cannot reach its PostgreSQL (restarting, failing over, or down); nothing was changed by this request: retry after `Retry-After` seconds. The operator's PostgreSQL status says more.",
  },
  HOST_NOT_EMPTY: {
    status: 409,
    hint: 'Delete or move what the host holds first (`detail` counts it), or, for a host that is gone for good, `hearth host rm --force` (its VMs become lost).',
  },
  GUEST_PORT_UNREACHABLE: {
    status: 502,
    hint: 'Nothing accepted the connection on that port inside the guest: check the server is running and listening (on 127.0.0.1 or the address you named), e.g. `hearth exec VM -- netstat -ltn`.',
  },
  AGENT_CERTIFICATE_INVALID: {
    status: 502,
    hint: "The agent's TLS certificate is not from this manager's agent CA, names another host, or is not the one the host holds now (replaced at a rotation or registration, or its host removed): restart the agent so it registers again (it gets a new certificate), or check the operator-supplied certificate and HEARTH_AGENT_TRUSTED_CA.",
  },
  WEBHOOK_NOT_FOUND: {
    status: 404,
    hint: 'No webhook with that id in the project: `hearth webhook ls` lists them.',
  },
} as const;
