// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { builtinModules } from 'node:module';

// Code that runs inside Temporal's workflow sandbox (workflows/) and the pure core it imports
// (core/) must be deterministic: no Node builtins, no database, mail, templates or AJV.
const sandboxBanned = [
  ...builtinModules.flatMap((m) => [m, `node:${m}`]),
  '@prisma/client',
  'nodemailer',
  'handlebars',
  'ajv',
  'ajv-formats',
  'express',
  'pg',
  '@electric-sql/pglite',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
];

export default tseslint.config(
  { ignores: ['node_modules/', '.data/', '.tools/', 'dist/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: { 'import-x/ignore': ['node_modules'] },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    files: ['workflows/**/*.ts', 'core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: sandboxBanned.map((name) => ({
            name,
            message: 'Workflow code and the pure core run in the Temporal sandbox: no I/O here.',
            allowTypeImports: true,
          })),
          patterns: [
            {
              group: [
                '../activities/*',
                '../api/*',
                '../store/*',
                '../mail/*',
                '../runtime/*',
                '../engine/*',
              ],
              message: 'Only `import type` from outside the sandbox.',
              allowTypeImports: true,
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'fetch'],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
