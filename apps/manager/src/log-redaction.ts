import type { LoggerOptions } from 'pino';

/**
 * Credentials never reach a log line: headers that carry them are censored wherever a request or
 * its headers are logged, and URLs lose the values of credential parameters.
 */
export const LOG_REDACT: NonNullable<LoggerOptions['redact']> = {
  paths: [
    'req.headers.authorization',
    'req.headers.cookie',
    'req.headers["x-csrf-token"]',
    'res.headers["set-cookie"]',
    'headers.authorization',
    'headers.cookie',
    'headers["x-csrf-token"]',
    'headers["set-cookie"]',
    'password',
    '*.password',
  ],
  censor: '[redacted]',
};

const SECRET_PARAMS = /([?&](?:ticket|token|access_token|code|state)=)[^&#]*/gi;

/** A request URL fit for a log line: the values of `ticket`, `token` and the like replaced. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAMS, '$1[redacted]');
}
