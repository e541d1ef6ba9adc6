// The settings table, config/default.yaml and docs/configuration.md say the same; only server/config/ reads a setting's variable.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { parse } from 'yaml';
import { PROJECT_ROOT, defaultOf } from './load.js';
import { eachSetting, type Setting } from './settings.js';

const read = (file: string) => fs.readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
const settings = eachSetting();

/** The rows of the first table under `heading` in a markdown text, each as its cells. */
function tableRows(markdown: string, heading: string): string[][] {
  const section = markdown.split(heading)[1]?.split(/\n#+ /)[0] ?? '';
  const table = section.split('\n\n').find((block) => block.trim().startsWith('|')) ?? '';
  return table
    .trim()
    .split('\n')
    .slice(2)
    .map((row) => row.slice(2, -2).split(' | '));
}

/** A setting's row as docs/configuration.md writes it. */
function row([key, setting]: [string, Setting<unknown>]): string[] {
  return [`\`${setting.variable}\``, setting.inFile ? `\`${key}\`` : '—', setting.shown ?? String(setting.default), setting.unit, setting.doc];
}

test("every default is a value of its setting's own kind", (t) => {
  for (const [key, setting] of settings) t.notThrows(() => defaultOf(key, setting), key);
});

test('each variable names one setting', (t) => {
  const variables = settings.map(([, setting]) => setting.variable);
  t.deepEqual(variables.filter((name, i) => variables.indexOf(name) !== i), []);
});

test("docs/configuration.md's table documents each setting once, with the table's variable, key, default, unit and doc line", (t) => {
  t.deepEqual(tableRows(read('docs/configuration.md'), '# Configuration'), settings.map(row));
});

test('config/default.yaml holds each default, with its variable named beside it, and nothing else', (t) => {
  const text = read('config/default.yaml');
  const yaml = parse(text) as Record<string, unknown>;
  const at = (key: string) => key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], yaml);
  for (const [key, setting] of settings) {
    if (!setting.inFile) {
      t.is(at(key), undefined, `${key} is read from the environment only`);
      continue;
    }
    const written = at(key);
    // A setting whose default is derived at start is shown commented out.
    if (setting.default === undefined) t.is(written, undefined, key);
    else t.deepEqual(written === undefined ? undefined : setting.kind.read(written as string), defaultOf(key, setting), key);
    const leaf = key.split('.').pop() as string;
    t.regex(text, new RegExp(`^\\s*#?\\s*${leaf}:[^#\\n]*#\\s*${setting.variable}\\b`, 'm'), `${key}'s line names ${setting.variable}`);
  }
  const keys = (node: unknown, prefix = ''): string[] =>
    typeof node === 'object' && node !== null ? Object.entries(node).flatMap(([k, v]) => (typeof v === 'object' && v !== null ? keys(v, `${prefix}${k}.`) : [prefix + k])) : [];
  const known = new Set(settings.map(([key]) => key));
  t.deepEqual(keys(yaml).filter((key) => !known.has(key)), []);
});

test("the scripts' own variables are documented with the defaults the scripts give them, and are no server setting", (t) => {
  // npm start and npm test read these before any server runs; their defaults live in the scripts themselves.
  const defaults = new Map<string, string>();
  for (const file of fs.readdirSync(path.join(PROJECT_ROOT, 'scripts'))) {
    for (const match of read(`scripts/${file}`).matchAll(/\$\{(LAMBDA_[A-Z0-9_]+):-([^}]*)\}/g)) defaults.set(match[1] as string, match[2] as string);
  }
  for (const match of read('config/server-memory.env').matchAll(/^(LAMBDA_[A-Z0-9_]+)=(.*)$/gm)) defaults.set(match[1] as string, match[2] as string);
  const documented = tableRows(read('docs/configuration.md'), '## Variables of the scripts').map(([variable, value]) => [
    (variable as string).replaceAll('`', ''),
    value === 'unset' ? '' : (value as string).replaceAll('`', ''),
  ]);
  t.deepEqual(documented.sort(), [...defaults].sort());
  const serverVariables = new Set(settings.map(([, setting]) => setting.variable));
  t.deepEqual([...defaults.keys()].filter((name) => serverVariables.has(name)), []);
});

/** A read of a LAMBDA_* variable: `env.LAMBDA_X`, `env['LAMBDA_X']`, ``env[`LAMBDA_${…}`]``. */
const VARIABLE_READ = /env(?:\.|\[\s*['"`])LAMBDA_/;

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

test('no server module outside server/config/ reads a LAMBDA_* variable: each takes its settings from the loaded table', (t) => {
  t.regex('const rate = process.env.LAMBDA_LOG_RATE;', VARIABLE_READ);
  t.regex("const image = env[`LAMBDA_BASE_IMAGE_${name}`];", VARIABLE_READ);
  const config = path.join(PROJECT_ROOT, 'server', 'config');
  const readers = sources(path.join(PROJECT_ROOT, 'server'))
    .filter((file) => !file.startsWith(config + path.sep) && VARIABLE_READ.test(fs.readFileSync(file, 'utf8')))
    .map((file) => path.relative(PROJECT_ROOT, file));
  t.deepEqual(readers, []);
});
