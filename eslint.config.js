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

/** Each server folder and the folders it may import from. */
export const ARROWS = {
  http: [],
  store: [],
  logs: [],
  config: [],
  instances: ['http', 'logs', 'metrics'],
  engine: ['instances'],
  builder: ['instances'],
  functions: ['store', 'instances', 'builder', 'logs', 'schedules', 'queue', 'config', 'metrics'],
  schedules: ['functions', 'store', 'logs', 'metrics'],
  queue: ['functions', 'store', 'logs', 'instances', 'config'],
  access: ['functions', 'store'],
  traffic: ['access', 'functions', 'queue', 'instances', 'http'],
  api: ['access', 'functions', 'schedules', 'queue', 'traffic', 'http', 'logs', 'git', 'store', 'metrics'],
  git: ['access', 'functions', 'http', 'logs'],
  ssh: ['access', 'functions', 'git', 'logs'],
  metrics: ['store', 'config'],
  dashboard: ['http', 'config'],
};

/** The store is reached through its interface: only server/main.ts opens SQLite. */
const STORE_TYPES_ONLY = ['**/store/*', '!**/store/types.js', '!**/store/invocation-types.js', '!**/store/schedule-types.js', '!**/store/metric-types.js'];

/** Outside libraries each wrapped by one folder. */
const PACKAGES = [['dockerode', 'engine'], ['prom-client', 'metrics'], ['better-sqlite3', 'store'], ['node-git-server', 'git'], ['ssh2', 'ssh']];

// The server hands the CLI's `run` to SSH in main.ts (the composition root) and otherwise does not call into the CLI.
const notTheCli = { group: ['**/cli/*', '**/cli/**'], message: 'The server does not import the CLI (server/main.ts hands its entry to SSH).' };

/** The arrows of `folder` as a rule, and what of the CLI it may import (nothing, but for one file of server/ssh/). */
const arrowRule = (folder, allowed, cli = notTheCli) => ['error', {
  paths: PACKAGES.filter(([, home]) => home !== folder).map(([pkg, home]) => onlyIn(pkg, `server/${home}/`)),
  patterns: [{
    group: [...Object.keys(ARROWS).filter((other) => other !== folder && other !== 'store' && !allowed.includes(other)).map((other) => `**/${other}/*`), ...(folder === 'store' ? [] : allowed.includes('store') ? STORE_TYPES_ONLY : ['**/store/*']), '**/server/main.js', '../main.js', '../../main.js', '**/listener.js'],
    message: `server/${folder}/ may import only from ${allowed.length ? allowed.map((a) => `server/${a}/`).join(', ') : 'no other folder'} (see docs/architecture.md).`,
  }, cli],
}];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'examples/**', 'test/fixtures/**', 'bin/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Plain JavaScript run by Node alone: the node20 shim and install script inside containers, the pre-receive hook, build scripts.
    files: ['buildpacks/**/*.mjs', 'hooks/pre-receive', 'scripts/**/*.mjs'],
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
  // The arrows between server folders (docs/architecture.md draws them): a folder may import only from the folders
  // listed here, and from server/errors.ts. Nothing imports main.ts or listener.ts, the composition root.
  ...Object.entries(ARROWS).map(([folder, allowed]) => ({
    files: [`server/${folder}/**/*.ts`],
    rules: { 'no-restricted-imports': arrowRule(folder, allowed) },
  })),
  {
    // SSH runs the CLI's verbs in-process, so it reads which ones from the verbs' own table and hands them the CLI's
    // Io; nothing else of the CLI.
    files: ['server/ssh/**/*.ts'],
    rules: { 'no-restricted-imports': arrowRule('ssh', ARROWS.ssh, { ...notTheCli, group: ['**/cli/*.js', '!**/cli/io.js', '**/cli/verbs/*.js', '!**/cli/verbs/index.js'] }) },
  },
  {
    // The dashboard's browser code: what a function or a pusher controls (log lines, commit messages, env values,
    // payloads) reaches the page as text only, so nothing that parses HTML or runs a string as code may creep back.
    files: ['dashboard/**/*.ts'],
    rules: {
      'no-restricted-properties': ['error',
        ...['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'createContextualFragment', 'srcdoc'].map((property) => ({ property, message: 'Build the DOM with createElement and textContent: never parse HTML.' })),
        { object: 'document', property: 'write', message: 'Build the DOM with createElement and textContent.' },
        { object: 'document', property: 'writeln', message: 'Build the DOM with createElement and textContent.' },
        { object: 'window', property: 'eval', message: 'No code from strings.' },
      ],
      'no-restricted-globals': ['error',
        { name: 'eval', message: 'No code from strings.' },
        { name: 'Function', message: 'No code from strings.' },
        { name: 'DOMParser', message: 'Build the DOM with createElement and textContent: never parse HTML.' },
      ],
      'no-restricted-syntax': ['error',
        { selector: "NewExpression[callee.name='Function']", message: 'No code from strings.' },
        { selector: "NewExpression[callee.name='DOMParser']", message: 'Never parse HTML.' },
        { selector: "CallExpression[callee.property.name='setAttribute'][arguments.0.value=/^(on|style$|srcdoc$)/i]", message: 'No event handler or style attributes: addEventListener and classes.' },
        { selector: "CallExpression[callee.property.name=/^set(Timeout|Interval)$/][arguments.0.type='Literal']", message: 'No code from strings.' },
      ],
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-new-func': 'error',
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
      'no-restricted-imports': ['error', { patterns: [{ group: ['../server/*', '../../server/*', '!../../server/functions', '../../server/functions/*', '!../../server/functions/manifest.js'], message: 'The CLI talks REST only.' }] }],
    },
  },
);
