// The house's map is true: docs/architecture.md's arrows table is exactly the one ESLint enforces, every server folder
// is in both, and the folder map names every folder.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import { ROOT } from './helpers/lambda.js';

// Loaded by its URL: the lint config is plain JavaScript, outside the type check.
const { ARROWS } = (await import(pathToFileURL(path.join(ROOT, 'eslint.config.js')).href)) as { ARROWS: Record<string, string[]> };

const doc = fs.readFileSync(path.join(ROOT, 'docs/architecture.md'), 'utf8');
const folders = fs
  .readdirSync(path.join(ROOT, 'server'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

/** The "may import from" table: folder → the folders it lists. */
function documentedArrows(markdown: string): Record<string, string[]> {
  const section = markdown.split('## Arrows between folders')[1]?.split('\n## ')[0] ?? '';
  const arrows: Record<string, string[]> = {};
  for (const match of section.matchAll(/^\| `(\w+)` \| (.*) \|$/gm)) {
    arrows[match[1] as string] = [...(match[2] as string).matchAll(/`(\w+)`/g)].map((m) => m[1] as string);
  }
  return arrows;
}

test('the arrows in docs/architecture.md are the ones ESLint enforces', (t) => {
  t.deepEqual(documentedArrows(doc), ARROWS);
});

test('every server folder has its row of arrows, and every row a folder', (t) => {
  t.deepEqual(Object.keys(ARROWS).sort(), folders);
});

test('the folder map names every server folder', (t) => {
  const missing = folders.filter((folder) => !doc.includes(`| \`server/${folder}/\` |`));
  t.deepEqual(missing, []);
});

test('a changed arrow is caught', (t) => {
  const changed = doc.replace('| `engine` | `instances` |', '| `engine` | `instances`, `store` |');
  t.notDeepEqual(documentedArrows(changed), ARROWS);
});
