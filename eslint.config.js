import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';

// Dependency rules (ARCHITECTURE.md, "Dependency rules"). Each block below lists every pattern
// that applies to its files: a later block replaces an earlier block's no-restricted-imports
// options instead of adding to them.
const APPS = ['agent', 'cli', 'manager', 'web'];
const WORKSPACES = [...APPS, 'contract', 'firecracker', 'images', 'qemu', 'sdk', 'vmm'];
const TESTS = ['**/*.test.ts', '**/*.test.tsx'];
// Test doubles and helpers that live beside the code they stand in for.
const TEST_CODE = [...TESTS, '**/fake-*.ts', '**/test-env.ts', '**/test-support/**'];
const rule = (regex, message) => ({ regex, message });

const viaPackageName = rule(
  `^\\.\\.?/(.*/)?((apps|packages)/|(${WORKSPACES.join('|')})/(src|test-support|bin)/)`,
  'Import another workspace by its package name (@hearth/…), through its exports, never by a relative path into its files.',
);
const noApps = rule(
  `^@hearth/(${APPS.join('|')})(/|$)`,
  'Packages never import apps: move what both need into a package.',
);
const noTestCode = rule(
  '(^|/)(test|test-support)(/|$)|(^|/)(fake-[^/]*|test-env)(\\.ts)?$|/test-support$|^vitest(/|$)',
  'Only test files import test helpers, test doubles and vitest; shipped code never does.',
);
const noBench = rule('(^|/)bench(/|$)', 'Benchmarks are not a library: move what you need into a package.');
const appBoundary = (app, mayImport = []) =>
  rule(
    // `@hearth/agent/defaults` is a constants-only entry point: `hearth up` reads it without loading the agent.
    `^@hearth/(${APPS.filter((a) => a !== app && !mayImport.includes(a)).join('|')})(/|$)|^@hearth/(?!agent/defaults$)(${APPS.join('|')})/`,
    mayImport.length
      ? `The ${app} app imports only the entry points of ${mayImport.map((a) => `@hearth/${a}`).join(' and ')} and no other app.`
      : `Apps never import each other: move what the ${app} app needs into a package.`,
  );
const testBoundary = rule(
  `^@hearth/(?!agent/defaults$)(${APPS.join('|')})/`,
  'Tests import another app through its entry point only, never its files.',
);
const noServer = rule(
  '^@hearth/(manager|agent|cli|images|qemu|firecracker|vmm)(/|$)|^@hearth/contract/streams$|^(pg|pino|fastify|ws|@fastify/.*|@electric-sql/.*)$',
  'The web app runs in the browser: it talks to the manager through @hearth/sdk and takes rules from @hearth/contract, never server code.',
);
const noNode = rule('^node:', 'The web app runs in the browser: no Node.js built-ins outside its tests.');
const restrict = (...patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });
// An agent runs for months with every schema it evaluated at start: it takes the manager routes
// it calls from hostAgentRoutes, never the whole public table (the bundle then leaves the rest out).
const agentPaths = [
  {
    name: '@hearth/contract',
    importNames: ['routes'],
    message:
      'The agent calls the manager through hostAgentRoutes (and imageRoutes): `routes` loads every API schema.',
  },
];
const appBlocks = APPS.flatMap((app) => {
  const boundary = appBoundary(app, app === 'cli' ? ['agent', 'manager'] : []);
  const web = app === 'web' ? [noServer] : [];
  return [
    {
      files: [`apps/${app}/src/**/*.{ts,tsx}`, `apps/${app}/bin/**`],
      ignores: TEST_CODE,
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              viaPackageName,
              boundary,
              noTestCode,
              noBench,
              ...web,
              ...(app === 'web' ? [noNode] : []),
            ],
            ...(app === 'agent' ? { paths: agentPaths } : {}),
          },
        ],
      },
    },
    {
      // A test may drive another app through its entry point (e.g. the manager's agent client
      // against the real agent app), never through its files.
      files: TEST_CODE.map((t) => `apps/${app}/src/${t}`),
      rules: restrict(viaPackageName, testBoundary, noBench, ...web),
    },
  ];
});

export default tseslint.config(
  { ignores: ['**/node_modules/**', 'packages/contract/openapi.json', 'apps/web/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  { files: ['**/*.{ts,tsx,js,mjs}'], rules: restrict(viaPackageName) },
  { files: ['packages/**/*.ts'], rules: restrict(viaPackageName, noApps) },
  // Build tooling reads the CLI's bundle freshness check from its file: scripts are not a workspace.
  { files: ['scripts/**'], rules: restrict() },
  {
    files: ['packages/*/src/**/*.ts'],
    ignores: TEST_CODE,
    rules: restrict(viaPackageName, noApps, noTestCode, noBench),
  },
  ...appBlocks,
  { files: ['apps/web/src/**/*.{ts,tsx}'], ...reactHooks.configs.flat['recommended-latest'] },
  { files: ['**/bin/*.mjs'], languageOptions: { globals: { process: 'readonly', console: 'readonly' } } },
  {
    // A stream that fails with no 'error' listener ends the whole process (manager and agent
    // together in `hearth up`). Server code creates streams through the guarded helpers only.
    files: [
      'apps/manager/src/**/*.ts',
      'apps/agent/src/**/*.ts',
      'packages/{qemu,firecracker,vmm,images}/src/**/*.ts',
    ],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'NewExpression[callee.name=/^(PassThrough|Readable|Writable|Duplex)$/], NewExpression[callee.property.name=/^(PassThrough|Readable|Writable|Duplex)$/]',
          message:
            "Create streams with passThrough()/fromWeb()/guard() from '@hearth/contract/streams': each gets an 'error' listener from birth, so one that fails before it is consumed cannot end the process.",
        },
        {
          selector: "CallExpression[callee.object.name='Readable'][callee.property.name=/^(from|fromWeb)$/]",
          message:
            "Use fromWeb()/guard() from '@hearth/contract/streams': a stream that fails before it is consumed must not end the process.",
        },
        {
          selector: "CallExpression[callee.property.name='pipe']",
          message:
            "Use pipeline() from 'node:stream/promises': .pipe() forwards no errors and leaves the other stream open.",
        },
      ],
    },
  },
);
