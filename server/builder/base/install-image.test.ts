// Which image an install runs in, by the base image setting; an assembled one is named by a hash of its recipe.
import path from 'node:path';
import test from 'ava';
import { PROJECT_ROOT } from '../../config/load.js';
import { loadBuildpacks, type Buildpack } from '../buildpacks.js';
import { ensureInstallImage } from './install-image.js';

const packs = loadBuildpacks(path.join(PROJECT_ROOT, 'buildpacks'));
const node20 = packs.get('node20') as Buildpack;

function fakeEngine(exists: boolean) {
  const asked: string[] = [];
  const imported: string[] = [];
  return {
    asked,
    imported,
    imageExists: async (tag: string) => {
      asked.push(tag);
      return exists;
    },
    importImage: async (_tar: NodeJS.ReadableStream, tag: string) => {
      imported.push(tag);
    },
  };
}

test('a buildpack that asks for no install image installs in its base image', async (t) => {
  const engine = fakeEngine(false);
  const install = { ...(node20.install as NonNullable<Buildpack['install']>), image: undefined };
  t.is(await ensureInstallImage(engine, { ...node20, install }, 'local', 'lambda/base-node20:abc', '/nonexistent', () => {}), 'lambda/base-node20:abc');
  t.deepEqual(engine.asked, []);
});

test("official pulls the buildpack's official install image; an operator's own image is used for installs too", async (t) => {
  const engine = fakeEngine(false);
  t.is(await ensureInstallImage(engine, node20, 'official', 'node:20-bookworm-slim', '/nonexistent', () => {}), 'node:20-bookworm');
  t.is(await ensureInstallImage(engine, node20, 'registry.example/node:20', 'registry.example/node:20', '/nonexistent', () => {}), 'registry.example/node:20');
  t.deepEqual(engine.asked, []);
});

test('local: the image is named by its recipe and reused when the engine has it', async (t) => {
  const engine = fakeEngine(true);
  const lines: string[] = [];
  const first = await ensureInstallImage(engine, node20, 'local', 'lambda/base-node20:abc', '/nonexistent', (line) => lines.push(line));
  t.regex(first, /^lambda\/install-node20:[0-9a-f]{12}$/);
  t.is(await ensureInstallImage(engine, node20, 'local', 'lambda/base-node20:abc', '/nonexistent', (line) => lines.push(line)), first);
  t.deepEqual(engine.imported, []);
  t.deepEqual(lines, []);
});
