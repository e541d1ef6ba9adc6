// End to end, the registry's bound with a server in swarm mode: a version the server prunes leaves the registry, the
// server's garbage collection gives its blobs' space back, and a push asked for during a collection waits for it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { example, type Lambda } from '../helpers/lambda.js';
import { REGISTRY_PULL, instancesOf, privileged, startSwarmLambda, waitFor, type Swarm, type SwarmRegistry } from '../helpers/swarm.js';
import { REGISTRY_PROGRAM } from '../../server/engine/swarm/registry.js';
import { PENDING_FILE } from '../../server/engine/swarm/registry-upkeep.js';

const run = promisify(execFile);
const MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
// An idle instance stops soon: the last test needs a new one.
const manifest = 'runtime: node20\nhandler: index.handler\ntimeout: 10s\nmemory: 128Mi\nidleTimeout: 3s\n';

let swarm: Swarm | undefined;
let lambda: Lambda | undefined;
let registry: SwarmRegistry;
let destroy: (() => Promise<void>) | undefined;
/** The folder of the stand-in `docker-registry` the server finds first on its PATH. */
const wrapper = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-registry-wrap-'));
/** While this file exists, a collection the server runs waits (at most a minute) before it starts. */
const hold = path.join(wrapper, 'hold');
/** Written by a held collection once it waits. */
const collecting = path.join(wrapper, 'collecting');
const calls = path.join(wrapper, 'calls');

test.before(async () => {
  const real = execFileSync('sh', ['-c', `command -v ${REGISTRY_PROGRAM}`], { encoding: 'utf8' }).trim();
  fs.writeFileSync(path.join(wrapper, REGISTRY_PROGRAM), `#!/bin/sh
echo "$*" >> '${calls}'
if [ "$1" = garbage-collect ] && [ -e '${hold}' ]; then
  echo "$PPID" > '${collecting}'
  i=0
  while [ -e '${hold}' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
fi
exec '${real}' "$@"
`, { mode: 0o755 });
  ({ swarm, lambda, registry, destroy } = await startSwarmLambda({
    LAMBDA_KEEP_IMAGES: '1',
    LAMBDA_SWARM_REGISTRY_COLLECT_EVERY: '1',
    LAMBDA_QUEUE_TIMEOUT: '60s',
    PATH: `${wrapper}:${process.env.PATH ?? ''}`,
  }));
});

test.after.always(async () => {
  fs.rmSync(hold, { force: true });
  await destroy?.();
  fs.rmSync(wrapper, { recursive: true, force: true });
});

/** A version of greet whose own layer is a megabyte no other version shares. */
async function pushVersion(): Promise<string> {
  const push = await lambda!.push('greet', example('greet'), { files: { 'lambda.yaml': manifest, 'pad.txt': randomBytes(768 << 10).toString('base64') } });
  if (push.code !== 0) throw new Error(`${push.stderr}\n${lambda!.output()}`);
  return push.sha;
}

/** A function's tags on the write side (through the host's forwarded address, as the server reaches it). */
async function tags(repository = 'lambda-fn/greet'): Promise<string[]> {
  const answer = await fetch(`http://${registry.push}/v2/${repository}/tags/list`);
  if (answer.status === 404) return [];
  return ((await answer.json()) as { tags: string[] | null }).tags ?? [];
}

/** A version's tag: its commit's short sha. */
async function tagOf(sha: string): Promise<string> {
  const found = (await tags()).find((tag) => sha.startsWith(tag));
  if (!found) throw new Error(`no tag of ${sha} in ${await tags()}`);
  return found;
}

/** The blobs a tag's image is made of (its manifest, config and layers), as digests with their sizes. */
async function blobsOf(tag: string, repository = 'lambda-fn/greet'): Promise<Map<string, number>> {
  const answer = await fetch(`http://${registry.push}/v2/${repository}/manifests/${tag}`, { headers: { accept: MANIFEST_V2 } });
  const body = Buffer.from(await answer.arrayBuffer());
  const parsed = JSON.parse(body.toString()) as { config: { digest: string; size: number }; layers: { digest: string; size: number }[] };
  const blobs = new Map([[answer.headers.get('docker-content-digest') ?? '', body.length]]);
  for (const blob of [parsed.config, ...parsed.layers]) blobs.set(blob.digest, blob.size);
  return blobs;
}

/** The blobs of the platform's own image there (the node pruner's, pushed after a collection): not a function's. */
async function platformBlobs(): Promise<Set<string>> {
  const answer = await fetch(`http://${registry.push}/v2/lambda/pruner/tags/list`);
  if (answer.status !== 200) return new Set();
  const found = new Set<string>();
  for (const tag of ((await answer.json()) as { tags: string[] | null }).tags ?? []) {
    for (const digest of (await blobsOf(tag, 'lambda/pruner')).keys()) found.add(digest);
  }
  return found;
}

/** The functions' blobs in the registry's storage folder (the platform's own left out), with their sizes on disk. */
async function stored(): Promise<Map<string, number>> {
  const platform = await platformBlobs();
  const root = path.join(registry.storageDir, 'docker/registry/v2/blobs/sha256');
  const found = new Map<string, number>();
  if (!fs.existsSync(root)) return found;
  for (const prefix of fs.readdirSync(root)) {
    for (const hex of fs.readdirSync(path.join(root, prefix))) {
      const data = path.join(root, prefix, hex, 'data');
      if (fs.existsSync(data) && !platform.has(`sha256:${hex}`)) found.set(`sha256:${hex}`, fs.statSync(data).size);
    }
  }
  return found;
}

/** The read side's answer to a HEAD of a manifest (by tag or digest), asked from inside the manager's namespace, as a worker asks. */
async function readSide(reference: string, repository = 'lambda-fn/greet'): Promise<number> {
  const code = `const r = await fetch('http://${REGISTRY_PULL}/v2/${repository}/manifests/${reference}', { method: 'HEAD', headers: { accept: '${MANIFEST_V2}' } }); console.log(r.status);`;
  const { stdout } = await run(...privileged('nsenter', [`--net=/run/netns/${swarm!.manager.netns}`, process.execPath, '--input-type=module', '-e', code]), { timeout: 30_000 });
  return Number(stdout.trim());
}

const sum = (blobs: Map<string, number>) => [...blobs.values()].reduce((a, b) => a + b, 0);

test.serial("a pruned version's tag leaves the registry, and the server's collection gives its blobs' space back", async (t) => {
  t.timeout(600_000);
  // The server wrote the sides' configuration at its start; the registry's sides serve from those files.
  t.true(fs.existsSync(registry.writeConfig) && fs.existsSync(registry.readConfig));
  const first = await pushVersion();
  const one = await lambda!.fetch('/fn/greet/?name=One');
  t.is(one.status, 200, lambda!.output());
  const v1 = await tagOf(first);
  const v1Blobs = await blobsOf(v1);
  t.is(await readSide(v1), 200);

  const second = await pushVersion();
  const two = await lambda!.fetch('/fn/greet/?name=Two');
  t.is(two.status, 200, lambda!.output());
  const v2 = await tagOf(second);
  const v2Blobs = await blobsOf(v2);
  // Kept: one version. The first is pruned from the manager's engine, deleted from the registry, and collected.
  await waitFor(async () => (await readSide(v1)) === 404, 60_000, 'the pruned tag to leave the read side');
  // After the collection the nodes are pruned, which pushes the pruner's image first: measured once that is done.
  await waitFor(async () => /node pruning on [^:]+: pruner: /.test(lambda!.output()), 120_000, 'the nodes pruned after the collection');
  await waitFor(async () => [...(await stored()).keys()].sort().join() === [...v2Blobs.keys()].sort().join(), 60_000, "the storage to hold the kept version's blobs alone");
  t.deepEqual(await tags(), [v2]);
  t.is(await readSide(v2), 200);
  const both = new Map([...v1Blobs, ...v2Blobs]);
  const left = sum(await stored());
  t.true(left < sum(both), `the storage shrank by the pruned version's own blobs: ${left} of ${sum(both)} bytes`);
  t.true([...v1Blobs.keys()].filter((digest) => !v2Blobs.has(digest)).length >= 3, "the pruned version's manifest, config and layer were its own");
  t.regex(fs.readFileSync(calls, 'utf8'), new RegExp(`^garbage-collect --delete-untagged ${registry.writeConfig}$`, 'm'));
  t.is((await lambda!.fetch('/fn/greet/?name=Kept')).status, 200);
});

test.serial('a push asked for during a collection waits for it, then succeeds', async (t) => {
  t.timeout(600_000);
  fs.writeFileSync(hold, '');
  fs.rmSync(collecting, { force: true });
  // A deploy pushes its version while it starts the version's first instance; then the previous version is pruned,
  // and its deletion starts a collection, held here.
  const third = await pushVersion();
  const v3 = await tagOf(third);
  await waitFor(async () => fs.existsSync(collecting), 60_000, 'a collection to start');
  // The next deploy's build and push wait for the collection.
  const fourth = pushVersion();
  await new Promise((resolve) => setTimeout(resolve, 3000));
  t.deepEqual(await tags(), [v3], 'no push while the collection runs, and the write side answers meanwhile');
  fs.rmSync(hold);
  const v4 = await tagOf(await fourth);
  const response = await lambda!.fetch('/fn/greet/?name=Four');
  t.is(response.status, 200, lambda!.output());
  t.deepEqual(await response.json(), { message: 'Hello, Four!' });
  t.is(await readSide(v4), 200);
  await waitFor(async () => (await tags()).join() === v4, 60_000, 'the previous version to leave the registry');
});

test.serial("after a restart, deletions left to retry are retried, and a version's push alone (no build) waits for the collection", async (t) => {
  t.timeout(600_000);
  const [live] = await tags();
  // A deletion that failed before the stop: the tag is gone already, so its retry finds nothing and is done.
  const pendingFile = path.join(registry.storageDir, PENDING_FILE);
  fs.writeFileSync(pendingFile, 'lambda-fn/greet:000000000000\n');
  fs.writeFileSync(hold, '');
  fs.rmSync(collecting, { force: true });
  // Killed outright: its instance is adopted, and the new process has pushed nothing yet.
  await lambda!.restart('SIGKILL');
  // The stand-in names the process that ran it: a collection the previous process started late must not count.
  const collectingFor = () => (fs.existsSync(collecting) ? fs.readFileSync(collecting, 'utf8').trim() : '');
  await waitFor(async () => collectingFor() === String(lambda!.pid), 60_000, 'the collection the deletions left to retry start');
  t.is(fs.readFileSync(pendingFile, 'utf8'), '', 'retried before the collection');
  await waitFor(async () => (await instancesOf(swarm!, 'greet')).length === 0, 60_000, 'the idle instance to stop');
  // A new instance of the live version: its image is on the manager's engine, so this is a push with no build.
  let answered = false;
  const answer = lambda!.fetch('/fn/greet/?name=Again').then((response) => ((answered = true), response));
  await new Promise((resolve) => setTimeout(resolve, 3000));
  t.false(answered, 'the instance waits for its push, which waits for the collection');
  fs.rmSync(hold);
  const response = await answer;
  t.is(response.status, 200, lambda!.output());
  t.deepEqual(await response.json(), { message: 'Hello, Again!' });
  t.deepEqual(await tags(), [live]);
});

test.serial("a pruned version whose image is the live one's (an empty commit) leaves the live version's tag and manifest in the registry, through a collection", async (t) => {
  t.timeout(600_000);
  // Identical files twice: two commits, one image through the build cache, so one manifest under two tags.
  const files = { 'lambda.yaml': manifest, 'pad.txt': 'the same bytes in both versions\n' };
  const deploy = async () => {
    const push = await lambda!.push('same', example('greet'), { files });
    if (push.code !== 0) throw new Error(`${push.stderr}\n${lambda!.output()}`);
    const response = await lambda!.fetch('/fn/same/?name=Same');
    t.is(response.status, 200, lambda!.output());
    return push.sha;
  };
  const first = await deploy();
  // A commit's time is in seconds: the second is another commit of the same tree.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const second = await deploy();
  t.not(first, second);
  const live = (await tags('lambda-fn/same')).find((tag) => second.startsWith(tag));
  if (!live) throw new Error(`no tag of ${second} in ${await tags('lambda-fn/same')}`);
  await waitFor(async () => new RegExp(`Pruned 1 old image\\(s\\) of same: lambda-fn/same:${first.slice(0, 12)}`).test(lambda!.output()), 60_000, 'the first version pruned');
  const digest = (await fetch(`http://${registry.push}/v2/lambda-fn/same/manifests/${live}`, { method: 'HEAD', headers: { accept: MANIFEST_V2 } })).headers.get('docker-content-digest') ?? '';
  t.regex(digest, /^sha256:/);

  // Another function's deletion runs a collection (one deletion each here), then the nodes' pruning.
  const collections = () => ((fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8') : '').match(/^garbage-collect /gm) ?? []).length;
  const nodePrunes = () => (lambda!.output().match(/node pruning on [^:]+: pruner: /g) ?? []).length;
  if ((await tags()).length === 0) await pushVersion();
  const [before, prunesBefore] = [collections(), nodePrunes()];
  await pushVersion();
  await waitFor(async () => collections() > before && nodePrunes() > prunesBefore, 180_000, 'a collection and the nodes pruned after it');
  t.true((await tags('lambda-fn/same')).includes(live));
  t.is(await readSide(live, 'lambda-fn/same'), 200, "the live version's tag");
  t.is(await readSide(digest, 'lambda-fn/same'), 200, "the live version's manifest");

  // Once its instance is gone, a node without the image pulls it again by digest.
  await waitFor(async () => (await instancesOf(swarm!, 'same')).length === 0, 60_000, 'the idle instance to stop');
  for (const node of swarm!.nodes) await swarm!.docker(node, ['image', 'rm', `${REGISTRY_PULL}/lambda-fn/same@${digest}`]).catch(() => '');
  const again = await lambda!.fetch('/fn/same/?name=Again');
  t.is(again.status, 200, lambda!.output());
  t.deepEqual(await again.json(), { message: 'Hello, Again!' });
  t.regex(lambda!.output(), new RegExp(`lambda-fn/same:${first.slice(0, 12)} names the same image as lambda-fn/same:${live}, which is kept`));
});
