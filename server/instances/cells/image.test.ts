// The stem-cell image's recipe read from a buildpack, without an engine: its build context carries the shim's module
// folder whole, and the hash that says a version image has the same shim matches what the engine's archive of that
// folder in a version image gives (and differs when one module differs).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import anyTest, { type TestFn } from 'ava';
import { create } from 'tar';
import { cellRecipes, ensureCellImage } from './image.js';
import { archiveDigest } from '../../engine/cells/files.js';

const BUILDPACKS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../buildpacks');
const test = anyTest as TestFn<{ dir: string }>;

test.beforeEach((t) => {
  t.context.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-cell-image-'));
});

test.afterEach.always((t) => {
  fs.rmSync(t.context.dir, { recursive: true, force: true });
});

function node20Recipe() {
  const dir = path.join(BUILDPACKS, 'node20');
  const { files } = JSON.parse(fs.readFileSync(path.join(dir, 'buildpack.json'), 'utf8')) as { files: string[] };
  const [recipe] = cellRecipes([{ runtime: 'node20', dir, files }], async () => 'base:1');
  if (!recipe) throw new Error('node20 has no cell.json');
  return recipe;
}

/** Every file under `dir`, by its path relative to it, with its bytes. */
function filesUnder(dir: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[]) {
    if (entry.isFile()) found[path.relative(dir, path.join(entry.parentPath, entry.name))] = fs.readFileSync(path.join(entry.parentPath, entry.name), 'utf8');
  }
  return found;
}

/** What the engine's archive API gives for a folder: a tar whose entries start with the folder's own name. */
function archiveOf(parent: string, name: string): Readable {
  return Readable.from(create({ cwd: parent, portable: true }, [name]) as unknown as AsyncIterable<Buffer>);
}

test('the cell image is built from the shim folder whole, and a version image with the same folder has the same hash', async (t) => {
  const recipe = node20Recipe();
  const built: { files: Record<string, string>; dockerfile: string }[] = [];
  const images = {
    imageExists: async () => false,
    buildImage: async (request: { contextDir: string }) => {
      const files = filesUnder(request.contextDir);
      built.push({ files, dockerfile: files.Dockerfile ?? '' });
    },
  };
  const image = await ensureCellImage(images as never, recipe, t.context.dir);
  t.is(built.length, 1);
  const shim = filesUnder(path.join(BUILDPACKS, 'node20', 'shim'));
  t.true(Object.keys(shim).length > 1, 'the shim is a folder of modules');
  for (const [file, text] of Object.entries(shim)) t.is(built[0]?.files[`shim/${file}`], text, `shim/${file} is in the cell image's context`);
  t.regex(built[0]?.dockerfile ?? '', /^COPY shim\/ \/opt\/lambda\/shim\/$/m);
  t.regex(image.tag, /^lambda\/cell-node20:[0-9a-f]{12}$/);

  const expected = image.same.get('/opt/lambda/shim');
  if (!expected) throw new Error(`no hash for the shim folder: ${[...image.same.keys()].join(', ')}`);
  t.is(await archiveDigest(archiveOf(path.join(BUILDPACKS, 'node20'), 'shim')), expected, 'the version image’s copy is the same');

  // One module differs: a version built with another shim starts classically.
  const other = path.join(t.context.dir, 'other');
  fs.cpSync(path.join(BUILDPACKS, 'node20', 'shim'), path.join(other, 'shim'), { recursive: true });
  const [first] = Object.keys(shim).sort();
  fs.appendFileSync(path.join(other, 'shim', first as string), '\n');
  t.not(await archiveDigest(archiveOf(other, 'shim')), expected);
  // A module more is a different shim too.
  fs.cpSync(path.join(BUILDPACKS, 'node20', 'shim'), path.join(other, 'more'), { recursive: true });
  fs.writeFileSync(path.join(other, 'more', 'extra.mjs'), '');
  t.not(await archiveDigest(archiveOf(other, 'more')), expected);
});

test('the cell image keeps its tag while its files are the same, and another shim gives another tag', async (t) => {
  const recipe = node20Recipe();
  const images = { imageExists: async () => true, buildImage: async () => {} };
  const first = await ensureCellImage(images as never, recipe, t.context.dir);
  t.is((await ensureCellImage(images as never, recipe, t.context.dir)).tag, first.tag);
  const copy = path.join(t.context.dir, 'node20');
  fs.cpSync(recipe.dir, copy, { recursive: true });
  fs.appendFileSync(path.join(copy, 'shim', 'main.mjs'), '\n');
  t.not((await ensureCellImage(images as never, { ...recipe, dir: copy }, t.context.dir)).tag, first.tag);
});

test('an archive holding no file has no hash', async (t) => {
  t.is(await archiveDigest(Readable.from([])), undefined);
});

test("python3's recipe takes its requirements folder as an extra folder, and a cell.json whose extra folder overlaps another is refused", (t) => {
  const dir = path.join(BUILDPACKS, 'python3');
  const { files } = JSON.parse(fs.readFileSync(path.join(dir, 'buildpack.json'), 'utf8')) as { files: string[] };
  const [python] = cellRecipes([{ runtime: 'python3', dir, files }], async () => 'base:1');
  t.deepEqual(python?.settings.extraFolders, ['/opt/python']);
  t.is(python?.settings.taskRoot, '/var/task');
  t.deepEqual(node20Recipe().settings.extraFolders, [], 'node20 has none');
  // Python reads no memory limit at start: a python3 version of any allowed size can use a cell.
  t.is(python?.settings.sameStartUpToBytes, 16 * 1024 * 1024 * 1024);
  // Below 128 MiB the standard modules a python3 cell imports while it waits (about 10 MB) could crowd the function.
  t.is(python?.settings.sameStartFromBytes, 128 * 1024 * 1024);
  t.is(node20Recipe().settings.sameStartFromBytes, 0);
  // What the interpreter and libc read only when the process starts sends a version to its own container.
  for (const name of ['LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'MALLOC_ARENA_MAX', 'GLIBC_TUNABLES', 'OPENSSL_CONF']) t.true(python?.settings.startupEnv.test(name), name);
  for (const name of ['TZ', 'HOME', 'LANGS', 'MY_LANG', 'OMP_NUM_THREADS', 'GREETING']) t.false(python?.settings.startupEnv.test(name), name);

  const raw = JSON.parse(fs.readFileSync(path.join(dir, 'cell.json'), 'utf8')) as Record<string, unknown>;
  for (const bad of [['/var/task/lib'], ['/var'], ['opt/python'], ['/opt/python/'], ['/opt/../etc'], ['/opt/python', '/opt/python/x']]) {
    const copy = path.join(t.context.dir, `bad-${bad.join('-').replaceAll('/', '_')}`);
    fs.mkdirSync(copy);
    fs.writeFileSync(path.join(copy, 'cell.json'), JSON.stringify({ ...raw, extraFolders: bad }));
    t.throws(() => cellRecipes([{ runtime: 'python3', dir: copy, files }], async () => 'base:1'), { message: /extra folder/ }, bad.join(' '));
  }
});
