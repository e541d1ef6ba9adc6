// End to end, the platform's registry on the swarm's manager: an image the manager's engine pushes runs on a worker,
// the side the workers reach refuses every write, and a deleted image's space comes back with a garbage collection.
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { ROOT, requireDocker } from '../helpers/lambda.js';
import {
  REGISTRY_PULL, createSwarm, privileged, importProbe, startRegistry, tasksOf, waitFor, type Swarm, type SwarmRegistry,
} from '../helpers/swarm.js';
import { REGISTRY_PROGRAM, deleteImage, garbageCollectArgs } from '../../server/engine/swarm/registry.js';

const run = promisify(execFile);
let swarm: Swarm | undefined;
let registry: SwarmRegistry;

test.before(async () => {
  await requireDocker();
  swarm = await createSwarm({ nodes: 2, insecureRegistries: [REGISTRY_PULL] });
  registry = await startRegistry(swarm);
  const local = await importProbe(swarm, [swarm.manager]);
  await swarm.docker(swarm.manager, ['tag', local, `${registry.push}/fn/probe:v1`]);
  await swarm.docker(swarm.manager, ['push', `${registry.push}/fn/probe:v1`]);
});

test.after.always(() => {
  swarm?.destroy();
});

/** Runs a module's code inside the manager's namespace, where the registry's read side listens. */
async function asThePlatform(s: Swarm, code: string): Promise<string> {
  const { stdout } = await run(...privileged('nsenter', [`--net=/run/netns/${s.manager.netns}`, process.execPath, '--import', 'tsx', '--input-type=module', '-e', code]), {
    cwd: ROOT, timeout: 60_000,
  });
  return stdout.trim();
}

test.serial('an image pushed from the manager runs as a service task on a worker that never had it', async (t) => {
  t.timeout(180_000);
  const s = swarm!;
  const worker = s.nodes[1];
  t.is((await s.docker(worker, ['image', 'ls', '-q'])).trim(), '', 'the worker starts with no image');
  await s.docker(s.manager, ['service', 'create', '--detach', '--name', 'pulled', '--constraint', 'node.role==worker',
    `${REGISTRY_PULL}/fn/probe:v1`, 'serve', ':8080']);
  await waitFor(async () => (await tasksOf(s, 'pulled')).length === 1, 90_000, 'the task on the worker');
  const [[node]] = await tasksOf(s, 'pulled');
  t.is(node.index, worker.index);
  // The manager resolved the tag to its digest: the worker pulled by digest, so its copy carries no tag.
  t.not((await s.docker(worker, ['image', 'ls', '-q', `${REGISTRY_PULL}/fn/probe`])).trim(), '');
});

test.serial('a worker\'s engine cannot push to the registry, nor delete from it', async (t) => {
  const s = swarm!;
  const worker = s.nodes[1];
  const pulled = (await s.docker(worker, ['image', 'ls', '-q', `${REGISTRY_PULL}/fn/probe`])).trim();
  await s.docker(worker, ['tag', pulled, `${REGISTRY_PULL}/fn/probe:forged`]);
  const push = await s.docker(worker, ['push', `${REGISTRY_PULL}/fn/probe:forged`]).then(() => 'pushed', (error: Error) => error.message);
  t.not(push, 'pushed');
  // The write side listens on the manager's loopback: on a worker that address is the worker's own, with nothing there.
  await s.docker(worker, ['tag', pulled, `${registry.push}/fn/probe:forged`]);
  const loopback = await s.docker(worker, ['push', `${registry.push}/fn/probe:forged`]).then(() => 'pushed', (error: Error) => error.message);
  t.regex(loopback, /connection refused/);
  const answer = await asThePlatform(s, `
    const { deleteImage } = await import('./server/engine/swarm/registry.ts');
    console.log(await deleteImage('http://${REGISTRY_PULL}', 'fn/probe', 'v1').then(String, (e) => e.message));
  `);
  t.regex(answer, /answered 405/, 'the read side refuses a delete');
});

test.serial('a deleted image is gone from the pull side, and the garbage collection gives its layers\' space back while both sides serve', async (t) => {
  t.timeout(120_000);
  const s = swarm!;
  const blobs = (): number => fs.readdirSync(path.join(registry.storageDir, 'docker/registry/v2/blobs/sha256'), { recursive: true })
    .filter((entry) => String(entry).endsWith('/data')).length;
  const before = blobs();
  // The server deletes as the test does here: through the write side's address on the host (forwarded to the manager's loopback).
  t.true((await deleteImage(`http://${registry.push}`, 'fn/probe', 'v1')).deleted);
  t.false((await deleteImage(`http://${registry.push}`, 'fn/probe', 'v1')).deleted, 'deleted once');
  const pull = await asThePlatform(s, `
    const pull = await fetch('http://${REGISTRY_PULL}/v2/fn/probe/manifests/v1', { method: 'HEAD', headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
    console.log(pull.status);
  `);
  t.is(pull, '404');
  t.is(blobs(), before, 'deleting a manifest alone frees no layer');

  // The write side stays up: no push runs meanwhile (the server holds the image gate alone), and it keeps no cache.
  const writePid = registry.writePid;
  await run(...privileged(REGISTRY_PROGRAM, garbageCollectArgs(registry.writeConfig)), { timeout: 60_000 });
  t.is(blobs(), 0, 'the layer and the config blob are removed');
  // The same layers pushed again to the same side, not restarted: it asks the disk, not a memory of what it held.
  await s.docker(s.manager, ['tag', `${registry.push}/fn/probe:v1`, `${registry.push}/fn/probe:v2`]);
  await s.docker(s.manager, ['push', `${registry.push}/fn/probe:v2`]);
  t.is(registry.writePid, writePid);
  t.true(blobs() >= before, 'every blob is back');
  // Every blob of the pushed-again image is served by the read side (the engines here already hold them: a pull would fetch none).
  const served = await asThePlatform(s, `
    const base = 'http://${REGISTRY_PULL}/v2/fn/probe';
    const manifest = await (await fetch(base + '/manifests/v2', { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } })).json();
    const digests = [manifest.config.digest, ...manifest.layers.map((layer) => layer.digest)];
    console.log(JSON.stringify(await Promise.all(digests.map(async (digest) => (await fetch(base + '/blobs/' + digest, { method: 'HEAD' })).status))));
  `);
  t.deepEqual(JSON.parse(served), [200, 200]);
});
