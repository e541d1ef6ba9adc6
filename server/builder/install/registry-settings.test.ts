// The host's registry settings: its package manager's answers first, then the CA and proxy environment.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { hostRegistrySettings } from './registry-settings.js';

const print = (text: string) => [process.execPath, '-e', `console.log(${JSON.stringify(text)})`];

test('the host command\'s registry and CA file win; the proxy comes from HTTPS_PROXY', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-registry-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ca = path.join(dir, 'ca.pem');
  fs.writeFileSync(ca, 'PEM');
  const settings = await hostRegistrySettings(
    { default: 'https://registry.npmjs.org/', hostCommand: print('https://npm.mirror.example:8443/repo/'), caHostCommand: print(ca) },
    { PATH: process.env.PATH, HTTPS_PROXY: 'http://user:pw@proxy.example:3128' },
  );
  t.is(settings.url.href, 'https://npm.mirror.example:8443/repo/');
  t.is(settings.host, 'npm.mirror.example');
  t.is(settings.port, 8443);
  t.is(settings.caFile, ca);
  t.is(settings.upstream?.href, 'http://user:pw@proxy.example:3128/');
});

test('without a package manager: the default registry, CA from the environment, NO_PROXY respected', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-registry-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ca = path.join(dir, 'extra.pem');
  fs.writeFileSync(ca, 'PEM');
  const settings = await hostRegistrySettings(
    { default: 'https://registry.npmjs.org/', hostCommand: ['/nonexistent/npm', 'config', 'get', 'registry'], caHostCommand: print('null') },
    { NODE_EXTRA_CA_CERTS: '/nonexistent.pem', SSL_CERT_FILE: ca, https_proxy: 'proxy.example:3128', NO_PROXY: 'localhost,.npmjs.org' },
  );
  t.is(settings.url.href, 'https://registry.npmjs.org/');
  t.is(settings.port, 443);
  t.is(settings.caFile, ca);
  t.is(settings.upstream, undefined);
});

test('a plain-http or malformed registry answer falls back to the default', async (t) => {
  for (const answer of ['http://registry.example/', 'not a url', 'https://a.example/"\ninjected=1']) {
    const settings = await hostRegistrySettings({ default: 'https://registry.npmjs.org/', hostCommand: print(answer) }, { PATH: process.env.PATH });
    t.is(settings.url.href, 'https://registry.npmjs.org/', answer);
  }
});
