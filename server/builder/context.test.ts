// A build context as the image build gets it: the buildpack's files (a folder whole, such as a shim's modules),
// the rendered Dockerfile, and the dependencies' tar when there is one.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { loadBuildpacks } from './buildpacks.js';
import { DEPENDENCIES_ARCHIVE, prepareContext } from './context.js';

const BUILDPACKS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../buildpacks');

/** Every file under `dir`, by its path relative to it. */
function filesUnder(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

for (const runtime of ['node20', 'python3']) {
  test(`the ${runtime} context carries the buildpack's shim folder whole, which its Dockerfile copies and starts`, (t) => {
    const pack = loadBuildpacks(BUILDPACKS).get(runtime);
    if (!pack) throw new Error(`no ${runtime} buildpack`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-context-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.mkdirSync(path.join(dir, 'code'));
    const dependencies = path.join(dir, 'deps.tar');
    fs.writeFileSync(dependencies, 'tar');
    prepareContext(pack, 'base:1', dir, dependencies);

    for (const name of pack.files) {
      const source = path.join(pack.dir, name);
      const copied = path.join(dir, name);
      if (fs.statSync(source).isDirectory()) {
        t.true(filesUnder(source).length > 1, `${name} is a folder of modules`);
        t.deepEqual(filesUnder(copied), filesUnder(source));
        for (const file of filesUnder(source)) t.deepEqual(fs.readFileSync(path.join(copied, file)), fs.readFileSync(path.join(source, file)));
      } else {
        t.deepEqual(fs.readFileSync(copied), fs.readFileSync(source));
      }
    }
    const dockerfile = fs.readFileSync(path.join(dir, 'Dockerfile'), 'utf8');
    t.regex(dockerfile, /^FROM base:1$/m);
    t.regex(dockerfile, /^COPY shim\/ \/opt\/lambda\/shim\/$/m);
    t.true(fs.existsSync(path.join(dir, DEPENDENCIES_ARCHIVE)));
    // The command names a file or folder the COPY put in the image.
    const command = JSON.parse(/^CMD (.*)$/m.exec(dockerfile)?.[1] ?? '[]') as string[];
    const started = command.find((word) => word.startsWith('/opt/lambda/shim/') || word === '/opt/lambda/shim');
    if (!started) throw new Error(`the command starts no shim: ${command.join(' ')}`);
    t.true(fs.existsSync(path.join(dir, started.replace('/opt/lambda/', ''))), `${started} is in the context`);
  });
}
