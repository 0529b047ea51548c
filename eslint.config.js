// Lint rules. The block for src/core is the mechanical half of the purity rule in
// docs/ARCHITECTURE.md: the core gets no clock, no randomness, no I/O and no Node APIs.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const impure = 'src/core is pure: time, randomness and I/O are inputs, never globals.';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/lab/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        ...['Date', 'setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval',
          'process', 'Buffer', 'Promise', 'fetch', 'performance', 'require', 'console'].map((name) => ({
          name,
          message: impure,
        })),
      ],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: impure }],
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['node:*', 'fs', 'net', 'os', 'path', 'crypto', 'child_process', '../../*'], message: impure }] },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'FunctionDeclaration[async=true], ArrowFunctionExpression[async=true], FunctionExpression[async=true]', message: impure },
      ],
    },
  },
  {
    // Files directly in src/core may import only their siblings and subfolders.
    files: ['src/core/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['node:*', 'fs', 'net', 'os', 'path', 'crypto', 'child_process', '../*'], message: impure }] },
      ],
    },
  },
);
