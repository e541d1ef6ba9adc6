// Lint rules that keep the project's habits: no floating promises, import boundaries per folder.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Node's own globals, for the plain JavaScript files (TypeScript files get theirs from @types/node).
const NODE_GLOBALS = Object.fromEntries(
  ['process', 'Buffer', 'console', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'queueMicrotask', 'structuredClone', 'URL', 'URLSearchParams', 'TextEncoder', 'TextDecoder', 'AbortController', 'performance', 'fetch'].map((name) => [name, 'readonly']),
);

const onlyIn = (pkg, where) => ({
  name: pkg,
  message: `${pkg} is used only in ${where}: go through its interface instead.`,
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'examples/**', 'test/fixtures/**', 'bin/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Plain JavaScript run by Node alone: the node20 shim and install script inside containers, the pre-receive hook.
    files: ['buildpacks/**/*.mjs', 'hooks/pre-receive'],
    languageOptions: { ecmaVersion: 'latest', sourceType: 'module', globals: NODE_GLOBALS },
  },
  {
    // Node reads the hook as CommonJS or ESM depending on where it is installed: it is written for either.
    files: ['hooks/pre-receive'],
    languageOptions: { sourceType: 'script' },
  },
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['server/**/*.ts'],
    ignores: ['server/runtime/docker*.ts', 'server/store/**', 'server/git/**', 'server/main.ts', 'test/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [
        onlyIn('dockerode', 'server/runtime/docker*.ts'),
        onlyIn('better-sqlite3', 'server/store/'),
        onlyIn('node-git-server', 'server/git/'),
      ] }],
    },
  },
  {
    files: ['server/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [onlyIn('dockerode', 'server/runtime/docker*.ts'), onlyIn('better-sqlite3', 'server/store/'), onlyIn('node-git-server', 'server/git/')],
        patterns: [{ group: ['../api/*', '../gateway/*', '../git/*', '../http/*', '../runtime/docker*', '../runtime/instance-client*', '../store/*', '!../store/types.js'], message: 'core depends on interfaces (deps.ts), not on adapters or implementations.' }],
      }],
    },
  },
  {
    // Tests reach into implementations on purpose (real SQLite, real Docker) and read loosely typed JSON.
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-imports': 'off', '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['cli/**/*.ts'],
    rules: {
      // One exception: `lambda validate` runs the server's own manifest check.
      'no-restricted-imports': ['error', { patterns: [{ group: ['../server/*', '../../server/*', '!../../server/core', '../../server/core/*', '!../../server/core/manifest.js'], message: 'The CLI talks REST only.' }] }],
    },
  },
);
