/**
 * Credentials never reach a log line, in the manager or an agent: every logger either process
 * makes is a child with this redaction (pino `redact`). Headers that carry credentials are
 * censored wherever a request, a response or bare headers are logged, and so are fields named
 * like a secret at the top level and one level down (`{ token }`, `{ body: { password } }`).
 */
const SECRET_HEADERS = [
  'authorization',
  'cookie',
  '["set-cookie"]',
  '["x-api-key"]',
  '["x-csrf-token"]',
  '["proxy-authorization"]',
];
const SECRET_FIELDS = [
  'password',
  'token',
  'secret',
  'ticket',
  'joinToken',
  'callbackToken',
  'agentToken',
  'apiKey',
  'clientSecret',
  'accessToken',
  'refreshToken',
  'idToken',
];
const header = (base: string, h: string) => (h.startsWith('[') ? `${base}${h}` : `${base}.${h}`);

export const LOG_REDACT: { paths: string[]; censor: string } = {
  paths: [
    ...['req.headers', 'res.headers', 'headers', 'request.headers', 'response.headers'].flatMap((base) =>
      SECRET_HEADERS.map((h) => header(base, h)),
    ),
    ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`]),
  ],
  censor: '[redacted]',
};

const SECRET_PARAMS =
  /([?&](?:ticket|token|access_token|code|state|secret|password|api_key|key)=)[^&#\s"]*/gi;

/** A request URL fit for a log line: the values of `ticket`, `token` and the like replaced. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAMS, '$1[redacted]');
}
