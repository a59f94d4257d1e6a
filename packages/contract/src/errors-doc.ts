import { errorCatalogue } from './errors.ts';

/** docs/errors.md, generated from the catalogue (a test keeps the committed file in sync). */
export function renderErrorsDoc(): string {
  const rows = Object.entries(errorCatalogue).map(
    ([code, e]) => `| \`${code}\` | ${e.status} | ${e.hint.replace(/\|/g, '\\|')} |`,
  );
  return [
    '# Error codes',
    '',
    'Every non-2xx response from the Hearth API has this shape:',
    '',
    '```json',
    '{ "error": { "code": "VM_NOT_FOUND", "message": "…", "hint": "…", "detail": {}, "fields": {}, "requestId": "req_…" } }',
    '```',
    '',
    '`message` says what failed and why; `hint` says how to fix it; `fields` maps request fields to',
    'problems (validation); `detail` carries structured context (for example the allowed states).',
    'Codes are never reused or renamed. This file is generated from',
    '`packages/contract/src/errors.ts` by `npm run docs`; a test fails when they differ.',
    '',
    '| code | HTTP status | hint |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
