// Lint rules that keep the project's habits: no floating promises, import boundaries per folder.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const onlyIn = (pkg, where) => ({
  name: pkg,
  message: `${pkg} is used only in ${where}: go through its interface instead.`,
});

// The server hands the CLI's `run` to SSH in main.ts (the composition root) and otherwise does not call into the CLI.
const notTheCli = { group: ['**/cli/*', '**/cli/**'], message: 'The server does not import the CLI (server/main.ts hands its entry to SSH).' };

const serverPaths = [
  onlyIn('dockerode', 'server/runtime/docker*.ts'),
  onlyIn('better-sqlite3', 'server/store/'),
  onlyIn('node-git-server', 'server/git/'),
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'buildpacks/**', 'hooks/**', 'examples/**', 'test/fixtures/**', 'bin/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
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
      'no-restricted-imports': ['error', { paths: serverPaths, patterns: [notTheCli] }],
    },
  },
  {
    // SSH runs the CLI's verbs, so it reads which ones from the verbs' own table, and nothing else of the CLI.
    files: ['server/ssh/commands.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: serverPaths, patterns: [{ ...notTheCli, group: ['**/cli/*.js', '**/cli/verbs/*.js', '!**/cli/verbs/index.js'] }] }],
    },
  },
  {
    files: ['server/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: serverPaths,
        patterns: [{ group: ['../api/*', '../gateway/*', '../git/*', '../http/*', '../runtime/docker*', '../runtime/instance-client*', '../store/*', '!../store/types.js'], message: 'core depends on interfaces (deps.ts), not on adapters or implementations.' }, notTheCli],
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
