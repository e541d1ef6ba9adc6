// The code that runs inside containers and git (buildpacks/, hooks/) keeps the house shape: no file over 400 lines,
// each opening with one comment line saying what it owns (after a #! line).
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { ROOT } from './helpers/lambda.js';

const CODE = /\.(mjs|js|cjs|py|go)$/;

function codeFiles(dir: string): string[] {
  return (fs.readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((entry) => entry.isFile() && (CODE.test(entry.name) || dir === 'hooks') && !entry.parentPath.includes('__pycache__'))
    .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)))
    .sort();
}

test('every buildpack and hook source file is at most 400 lines and opens with a line saying what it owns', (t) => {
  const files = [...codeFiles('buildpacks'), ...codeFiles('hooks')];
  t.true(files.includes(path.join('buildpacks', 'node20', 'shim', 'main.mjs')));
  t.true(files.includes(path.join('buildpacks', 'python3', 'shim', '__main__.py')));
  t.true(files.includes(path.join('buildpacks', 'go', 'shim', 'main.go')));
  for (const file of files) {
    const lines = fs.readFileSync(path.join(ROOT, file), 'utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    t.true(lines.length <= 400, `${file} has ${lines.length} lines`);
    const first = lines[0]?.startsWith('#!') ? lines[1] : lines[0];
    const comment = file.endsWith('.py') ? /^# \S.{20,}$/ : /^\/\/ \S.{20,}$/;
    t.regex(first ?? '', comment, `${file} opens with what it owns`);
  }
});
