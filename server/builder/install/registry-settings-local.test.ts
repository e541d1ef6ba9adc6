// pip's settings: PIP_INDEX_URL wins over the host command, and the host's local package folders are found.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { hostRegistrySettings } from './registry-settings.js';

const print = (text: string) => [process.execPath, '-e', `console.log(${JSON.stringify(text)})`];

test('the variable names the index; local indexes and find-links folders come from host commands and variables', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-registry-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const sub of ['pypi/simple', 'more/simple', 'wheels', 'env-wheels']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  fs.writeFileSync(path.join(dir, 'a-file'), '');
  const settings = await hostRegistrySettings(
    {
      default: 'https://pypi.org/simple/',
      envVar: 'PIP_INDEX_URL',
      hostCommand: print('https://ignored.example/simple/'),
      local: {
        indexes: { hostCommand: print(`file://${dir}/pypi/simple https://remote.example/simple file://${dir}/missing file://${dir}/a-file /`), envVar: 'PIP_EXTRA_INDEX_URL' },
        links: { hostCommand: print(`${dir}/wheels relative/wheels`), envVar: 'PIP_FIND_LINKS' },
      },
    },
    { PATH: process.env.PATH, PIP_INDEX_URL: 'https://mirror.example/pypi/simple/', PIP_EXTRA_INDEX_URL: `file://${dir}/more/simple/`, PIP_FIND_LINKS: `${dir}/env-wheels` },
  );
  t.is(settings.url.href, 'https://mirror.example/pypi/simple/');
  t.is(settings.host, 'mirror.example');
  const real = fs.realpathSync(dir);
  // Remote URLs, missing folders, files, relative paths and the root itself are left out.
  t.deepEqual(settings.localIndexes, [`${real}/pypi/simple`, `${real}/more/simple`]);
  t.deepEqual(settings.localLinks, [`${real}/wheels`, `${real}/env-wheels`]);
});

test('an http index in the variable falls back to the host command, then the default; no local settings, no local folders', async (t) => {
  const settings = await hostRegistrySettings(
    { default: 'https://pypi.org/simple/', envVar: 'PIP_INDEX_URL', hostCommand: print('https://host.example/simple/') },
    { PATH: process.env.PATH, PIP_INDEX_URL: 'http://plain.example/simple/' },
  );
  t.is(settings.url.href, 'https://host.example/simple/');
  t.is(settings.localIndexes, undefined);
  const fallback = await hostRegistrySettings({ default: 'https://pypi.org/simple/', envVar: 'PIP_INDEX_URL', hostCommand: ['/nonexistent/pip'] }, {});
  t.is(fallback.url.href, 'https://pypi.org/simple/');
});
