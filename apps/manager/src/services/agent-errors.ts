import { errorCodes, ErrorEnvelope, HearthError, type ErrorCode } from '@hearth/contract';
import type { AgentTarget } from './agent-client.ts';

// How the manager reads an agent's failures: its error envelope, agents from before it, and
// connection failures (refused, TLS).

/**
 * Codes that describe the exchange between manager and agent (a wrong callback token, an agent
 * without the route, a failure the agent did not classify), not the caller's request: the
 * caller sees them as this agent's AGENT_ERROR.
 */
const AGENT_SIDE = new Set<ErrorCode>([
  'AGENT_ERROR',
  'INTERNAL',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'ROUTE_NOT_FOUND',
  'INVALID_JSON',
]);

/**
 * The agent answers in the catalogue's envelope: its code, status, message and hint reach the
 * caller as they are (a guest's missing file stays a 404, a refused VM action its 409).
 */
export function agentError(
  host: AgentTarget,
  method: string,
  path: string,
  status: number,
  payload: string,
): HearthError {
  const body = safeJson(payload);
  const envelope = ErrorEnvelope.safeParse(body);
  if (envelope.success && !AGENT_SIDE.has(envelope.data.error.code))
    return HearthError.fromEnvelope(status, envelope.data);
  // Agents from before the envelope answered `{ error, code? }`: their catalogue code still holds.
  const legacy = legacyAgentError(body);
  if (legacy?.code && !AGENT_SIDE.has(legacy.code)) return new HearthError(legacy.code, legacy.error);
  const message = envelope.success ? envelope.data.error.message : (legacy?.error ?? payload);
  return new HearthError(
    'AGENT_ERROR',
    `The agent of host ${host.id} refused ${method} ${path}: ${message}`,
    {
      detail: { status, ...(envelope.success ? { code: envelope.data.error.code } : {}) },
    },
  );
}

/** The `{ error, code? }` answer of agents from before the envelope. */
function legacyAgentError(body: unknown): { error: string; code?: ErrorCode } | null {
  const b = body as { error?: unknown; code?: unknown } | null;
  if (typeof b?.error !== 'string') return null;
  const known = typeof b.code === 'string' && (errorCodes as string[]).includes(b.code);
  return { error: b.error, ...(known ? { code: b.code as ErrorCode } : {}) };
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The connection was refused: nothing listens at the address (the agent is down or restarted elsewhere). */
export function refused(e: unknown): boolean {
  const cause = (e as { cause?: { code?: string; errors?: { code?: string }[] } }).cause;
  return cause?.code === 'ECONNREFUSED' || Boolean(cause?.errors?.some((x) => x.code === 'ECONNREFUSED'));
}

/** The agent's TLS certificate did not verify (another CA, another host, expired), as opposed to a network failure. */
export function tlsRefusal(cause: Error): boolean {
  const code = (cause as { code?: string }).code ?? '';
  return (
    /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code) ||
    /certificate|issued to another host|holds now/.test(cause.message)
  );
}
