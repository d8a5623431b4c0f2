// Type-aware lint for every package (STYLE.md A18): rules that catch real server bugs.
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/coverage/**',
      '**/reports/**',
      '**/.turbo/**',
      '**/bench-dist/**',
      // Chaos run directories (history, logs) written by pnpm chaos and its tests.
      'test/chaos/runs/**',
      // Plain JS forked as is by the replica-kill test (Node 20 cannot strip types); no tsconfig
      // includes it, so the type-aware project service cannot parse it.
      'services/gateway/test/helpers/storm-clients.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', '*.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'max-params': ['error', 4],
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@ssehub/*/src', '@ssehub/*/src/*'],
              message: 'Import the package entry, not its src.',
            },
          ],
        },
      ],
    },
  },
  {
    // No import cycle in any package's source: a cycle means two modules own one idea, and
    // under ESM it shows up as a binding read before it is initialised. Tests may import freely.
    files: ['**/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // The dependencies are parsed as TypeScript too, or the rule cannot follow them.
      'import-x/parsers': importX.flatConfigs.typescript.settings['import-x/parsers'],
      'import-x/extensions': importX.flatConfigs.typescript.settings['import-x/extensions'],
      'import-x/resolver-next': [createTypeScriptImportResolver({ alwaysTryTypes: true })],
    },
    rules: { 'import-x/no-cycle': 'error' },
  },
  {
    // Only config/ (and the process entry point) may read the environment (STYLE.md A12).
    files: ['services/gateway/src/**/*.ts'],
    ignores: ['services/gateway/src/config/**/*.ts', 'services/gateway/src/main.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Use loadConfig()' },
      ],
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@ssehub/*/src', '@ssehub/*/src/*'],
              message: 'Import the package entry, not its src.',
            },
          ],
          paths: [
            { name: '@ssehub/publisher', message: 'The gateway never imports the publisher SDK.' },
          ],
        },
      ],
    },
  },
  {
    // Tests may use non-null assertions on values they have just checked.
    files: ['**/*.test.ts', '**/test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off', 'max-params': 'off' },
  },
);
