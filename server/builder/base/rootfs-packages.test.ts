// Which Debian packages an install image copies (from the package database's own records) and how their files land.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { addPackages, debianPackages, describePackages } from './rootfs-packages.js';

/** A package database: owner of each path, and per package its status and dependencies. */
function fakeQuery(owners: Record<string, string>, packages: Record<string, { depends: string; installed?: boolean; version?: string }>) {
  return (args: string[]): string | undefined => {
    if (args[0] === '-S') return owners[args[1]] ? `${owners[args[1]]}: ${args[1]}\n` : undefined;
    if (args[1]?.startsWith('-f=${Package}\t')) {
      return Object.entries(packages)
        .map(([name, each]) => `${name}\t${each.installed === false ? 'deinstall ok config-files' : 'install ok installed'}\t, ${each.depends}`)
        .join('\n');
    }
    if (args[1]?.startsWith('-f=${Package}=')) return args.slice(2).map((name) => `${name}=${packages[name]?.version ?? '1'}`).join('\n');
    return undefined;
  };
}

test('the packages holding the programs, and what they depend on, recursively; alternatives by what is installed', (t) => {
  const node = process.execPath;
  const query = fakeQuery(
    { [node]: 'fake-node' },
    {
      'fake-node': { depends: 'libc6 (>= 2.36), libstdc++6:any, perl | fake-perl' },
      libc6: { depends: 'libgcc-s1' },
      'libgcc-s1': { depends: 'libc6' },
      'libstdc++6': { depends: '' },
      perl: { depends: 'everything-else', installed: false },
      'fake-perl': { depends: '' },
      'everything-else': { depends: '' },
    },
  );
  const dir = path.dirname(node);
  const previous = process.env.PATH;
  process.env.PATH = dir;
  t.teardown(() => {
    process.env.PATH = previous;
  });
  t.deepEqual(debianPackages([path.basename(node), 'not-a-program-anywhere'], query), ['fake-node', 'fake-perl', 'libc6', 'libgcc-s1', 'libstdc++6']);
  t.is(describePackages(['libc6', 'fake-node'], fakeQuery({}, { libc6: { depends: '', version: '2.36-9' }, 'fake-node': { depends: '', version: '20.1' } })), 'packages=libc6=2.36-9+fake-node=20.1');
  t.deepEqual(debianPackages(['anything'], () => undefined), [], 'no dpkg: no packages');
});

test("a package's files are copied with their links and the links' targets; documentation is left out", (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-packages-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const host = path.join(root, 'host');
  const stage = path.join(root, 'stage');
  fs.mkdirSync(path.join(host, 'usr/lib/tool'), { recursive: true });
  fs.writeFileSync(path.join(host, 'usr/lib/tool/real-1.2'), 'real');
  fs.symlinkSync('real-1.2', path.join(host, 'usr/lib/tool/real'));
  fs.writeFileSync(path.join(host, 'usr/lib/tool/lto1'), 'big');
  const files = ['usr', 'usr/lib', 'usr/lib/tool', 'usr/lib/tool/real', 'usr/lib/tool/lto1'].map((each) => path.join(host, each));
  // Paths as the package lists them are absolute on the host; the stage mirrors them under its root.
  // And a real documentation file of this machine's, which must stay out.
  const docs = fs.readdirSync('/usr/share/doc').map((name) => `/usr/share/doc/${name}/copyright`).find((file) => fs.existsSync(file)) as string;
  t.truthy(docs);
  addPackages(['tool'], stage, () => [...files, docs]);
  const inStage = (file: string) => path.join(stage, host, file);
  t.is(fs.readlinkSync(inStage('usr/lib/tool/real')), 'real-1.2');
  t.is(fs.readFileSync(inStage('usr/lib/tool/real'), 'utf8'), 'real', 'the link leads to a copy of its target');
  t.false(fs.existsSync(inStage('usr/lib/tool/lto1')));
  t.false(fs.existsSync(path.join(stage, docs)));
  t.true(fs.existsSync(path.join(stage, host, 'usr/lib/tool')));
});
