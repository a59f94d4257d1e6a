import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';

export default tseslint.config(
  { ignores: ['**/node_modules/**', 'packages/contract/openapi.json', 'apps/web/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
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
