// The registry's settings: the side the workers reach refuses writes, and a delete is refused before any request
// when the name could change the URL it is put in.
import test from 'ava';
import { deleteImage, garbageCollectArgs, registryConfig } from './registry.js';

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
