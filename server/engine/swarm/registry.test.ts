// The registry's settings: the side the workers reach refuses writes, and a delete is refused before any request
// when the name could change the URL it is put in.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { deleteImage, garbageCollectArgs, registryConfig, writeRegistryConfigs } from './registry.js';

test('the pull side is read-only with deletes off; the push side deletes and purges abandoned uploads', (t) => {
  const read = JSON.parse(registryConfig({ listen: '10.0.0.1:5000', storageDir: '/data/registry', readOnly: true }));
  t.deepEqual(read.storage.maintenance.readonly, { enabled: true });
  t.deepEqual(read.storage.delete, { enabled: false });
  t.is(read.storage.filesystem.rootdirectory, '/data/registry');
  t.is(read.http.addr, '10.0.0.1:5000');
  t.is(read.http.debug, undefined, 'no debug listener');
  t.is(read.storage.cache, undefined, 'no descriptor cache that could outlive a delete made by the other side');
  const write = JSON.parse(registryConfig({ listen: '127.0.0.1:5001', storageDir: '/data/registry', readOnly: false }));
  t.deepEqual(write.storage.maintenance.readonly, { enabled: false });
  t.deepEqual(write.storage.delete, { enabled: true });
  t.true(write.storage.maintenance.uploadpurging.enabled);
  t.deepEqual(garbageCollectArgs('/c.yml'), ['garbage-collect', '--delete-untagged', '/c.yml']);
});

test('a name or tag that is not one is refused before it reaches a URL', async (t) => {
  for (const [name, tag] of [['fn/../v2', 'v1'], ['fn/probe', '../x'], ['fn/probe?x=1', 'v1'], ['Fn/probe', 'v1'], ['fn/probe', 'a b']]) {
    await t.throwsAsync(deleteImage('http://127.0.0.1:9', name, tag), { message: /not an image name/ });
  }
});

test('the server writes both sides\' files into the registry\'s folder, which is their storage, readable by its user alone', (t) => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-registry-')), 'registry');
  t.teardown(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));
  const files = writeRegistryConfigs(dir, { push: '127.0.0.1:5001', pull: '10.0.0.1:5000' });
  t.deepEqual(files, { write: path.join(dir, 'write.yml'), read: path.join(dir, 'read.yml') });
  const write = JSON.parse(fs.readFileSync(files.write, 'utf8'));
  const read = JSON.parse(fs.readFileSync(files.read, 'utf8'));
  t.is(write.http.addr, '127.0.0.1:5001');
  t.is(read.http.addr, '10.0.0.1:5000');
  t.true(read.storage.maintenance.readonly.enabled);
  t.is(write.storage.filesystem.rootdirectory, dir);
  t.is(read.storage.filesystem.rootdirectory, dir);
  t.is(fs.statSync(dir).mode & 0o777, 0o700);
  // Written again at the next start, with what the settings say then.
  writeRegistryConfigs(dir, { push: '127.0.0.1:5002', pull: '10.0.0.1:5000' });
  t.is(JSON.parse(fs.readFileSync(files.write, 'utf8')).http.addr, '127.0.0.1:5002');
  t.deepEqual(fs.readdirSync(dir).sort(), ['read.yml', 'write.yml']);
});
