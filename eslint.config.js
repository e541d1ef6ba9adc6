// Lint rules that keep the project's habits: no floating promises, import boundaries per folder.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const onlyIn = (pkg, where) => ({
  name: pkg,
  message: `${pkg} is used only in ${where}: go through its interface instead.`,
});

/** Each server folder and the folders it may import from. */
export const ARROWS = {
  http: [],
  store: [],
  logs: [],
  config: ['store', 'functions', 'queue'],
  instances: ['http', 'logs'],
  engine: ['instances'],
  builder: ['instances'],
  functions: ['store', 'instances', 'builder', 'logs', 'schedules', 'queue'],
  schedules: ['functions', 'store', 'logs'],
  queue: ['functions', 'store', 'logs', 'instances', 'config'],
  access: ['functions', 'store'],
  traffic: ['access', 'functions', 'queue', 'instances', 'http'],
  api: ['access', 'functions', 'schedules', 'queue', 'traffic', 'http', 'logs', 'git', 'store'],
  git: ['access', 'functions', 'http', 'logs'],
  ssh: ['access', 'functions', 'git', 'logs'],
};

/** The store is reached through its interface: only server/main.ts opens SQLite. */
const STORE_TYPES_ONLY = ['../store/*', '!../store/types.js', '!../store/invocation-types.js', '!../store/schedule-types.js'];

/** Outside libraries each wrapped by one folder. */
const PACKAGES = [['dockerode', 'engine'], ['better-sqlite3', 'store'], ['node-git-server', 'git'], ['ssh2', 'ssh']];

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
  // The arrows between server folders (docs/architecture.md draws them): a folder may import only from the folders
  // listed here, and from server/errors.ts. Nothing imports main.ts or listener.ts, the composition root.
  ...Object.entries(ARROWS).map(([folder, allowed]) => ({
    files: [`server/${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', {
        paths: PACKAGES.filter(([, home]) => home !== folder).map(([pkg, home]) => onlyIn(pkg, `server/${home}/`)),
        patterns: [{
          group: [...Object.keys(ARROWS).filter((other) => other !== folder && other !== 'store' && !allowed.includes(other)).map((other) => `../${other}/*`), ...(folder === 'store' ? [] : allowed.includes('store') ? STORE_TYPES_ONLY : ['../store/*']), '../main.js', '../listener.js'],
          message: `server/${folder}/ may import only from ${allowed.length ? allowed.map((a) => `server/${a}/`).join(', ') : 'no other folder'} (see docs/architecture.md).`,
        }],
      }],
    },
  })),
  {
    // Tests reach into implementations on purpose (real SQLite, real Docker) and read loosely typed JSON.
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-imports': 'off', '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['cli/**/*.ts'],
    rules: {
      // One exception: `lambda validate` runs the server's own manifest check.
      'no-restricted-imports': ['error', { patterns: [{ group: ['../server/*', '../../server/*', '!../../server/functions', '../../server/functions/*', '!../../server/functions/manifest.js'], message: 'The CLI talks REST only.' }] }],
    },
  },
);
