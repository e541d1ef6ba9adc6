// Every relative link and #anchor in README.md, CONTRIBUTING.md and docs/*.md leads somewhere: the file exists and
// the anchor is one of its headings, slugged as GitHub slugs them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { ROOT } from './helpers/lambda.js';

/** Markdown with fenced blocks and code spans blanked: a link written inside code is text, not a link. */
function prose(markdown: string): string {
  return markdown
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
    .replace(/(`+)[\s\S]*?\1/g, '');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
export function slugs(markdown: string): Set<string> {
  const found = new Set<string>();
  const counts = new Map<string, number>();
  const withoutBlocks = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const match of withoutBlocks.matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const text = (match[1] as string).replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const seen = counts.get(base) ?? 0;
    counts.set(base, seen + 1);
    found.add(seen === 0 ? base : `${base}-${seen}`);
  }
  return found;
}

/** The relative links of one Markdown file that lead nowhere, as "target: why". */
export function brokenLinks(file: string): string[] {
  const broken: string[] = [];
  const text = prose(fs.readFileSync(file, 'utf8'));
  for (const match of text.matchAll(/\[[^\]]*\]\(<?([^)\s>]+)>?(?:\s+"[^"]*")?\)/g)) {
    const target = match[1] as string;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: and the like: not ours to check
    const [where = '', anchor] = target.split('#', 2) as [string, string | undefined];
    const resolved = where === '' ? file : path.resolve(path.dirname(file), decodeURIComponent(where));
    if (!fs.existsSync(resolved)) {
      broken.push(`${target}: no file ${path.relative(ROOT, resolved)}`);
      continue;
    }
    if (anchor === undefined) continue;
    if (!resolved.endsWith('.md')) {
      broken.push(`${target}: an anchor into a file that is not Markdown`);
      continue;
    }
    if (!slugs(fs.readFileSync(resolved, 'utf8')).has(anchor)) broken.push(`${target}: no heading "${anchor}" in ${path.relative(ROOT, resolved)}`);
  }
  return broken;
}

const pages = () => [
  path.join(ROOT, 'README.md'),
  path.join(ROOT, 'CONTRIBUTING.md'),
  ...fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => path.join(ROOT, 'docs', name)),
];

test('every relative link and anchor in the README, CONTRIBUTING.md and docs/ resolves', (t) => {
  const found = pages().flatMap((file) => brokenLinks(file).map((problem) => `${path.relative(ROOT, file)}: ${problem}`));
  t.deepEqual(found, []);
});

test('the README links every page of docs/', (t) => {
  const readme = prose(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
  const linked = new Set([...readme.matchAll(/\]\((docs\/[^)#\s]+\.md)/g)].map((match) => match[1]));
  for (const name of fs.readdirSync(path.join(ROOT, 'docs')).filter((entry) => entry.endsWith('.md'))) {
    t.true(linked.has(`docs/${name}`), `README.md links docs/${name}`);
  }
});

test('headings slug as GitHub slugs them', (t) => {
  const found = slugs("# Lambda\n## Versions, rollback and env\n## `auth: key` functions\n## A request's path\n## Logs\n## Logs\n```\n## not a heading\n```\n");
  t.deepEqual([...found], ['lambda', 'versions-rollback-and-env', 'auth-key-functions', 'a-requests-path', 'logs', 'logs-1']);
});

test('a missing file, a missing anchor and a link split over lines are reported; links in code are not', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'docs-links-'));
  try {
    fs.writeFileSync(path.join(dir, 'other.md'), '# Other\n## Part two\n');
    fs.writeFileSync(
      path.join(dir, 'page.md'),
      [
        '# Page',
        '[fine](other.md#part-two), [here](#page), [web](https://example.com/nowhere)',
        '[gone](missing.md), [no part](other.md#part-three), [split',
        'text](#nowhere)',
        '`[in code](missing-too.md)`',
        '```',
        '[in a block](missing-three.md)',
        '```',
      ].join('\n'),
    );
    t.deepEqual(
      brokenLinks(path.join(dir, 'page.md')).map((problem) => problem.split(':')[0]),
      ['missing.md', 'other.md#part-three', '#nowhere'],
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Repository paths the pages name in code spans (`server/…`, `cli/…`, …) that do not exist; patterns are left out. */
export function missingPaths(markdown: string, exists: (relative: string) => boolean): string[] {
  const named = [...markdown.matchAll(/`((?:server|cli|test|bench|buildpacks|scripts|hooks|config|examples|docs)\/[\w./-]*)`/g)].map((m) => m[1] as string);
  return [...new Set(named)].filter((relative) => !exists(relative));
}

test('every file and folder the pages name exists, so a moved file cannot leave the docs behind', (t) => {
  const exists = (relative: string) => fs.existsSync(path.join(ROOT, relative));
  const found = pages().flatMap((file) => missingPaths(fs.readFileSync(file, 'utf8'), exists).map((missing) => `${path.relative(ROOT, file)}: ${missing}`));
  t.deepEqual(found, []);
});

test('a named path that is gone is reported', (t) => {
  t.deepEqual(missingPaths('see `server/instances/pool.ts` and `server/listener.ts`', (relative) => relative === 'server/listener.ts'), ['server/instances/pool.ts']);
});
