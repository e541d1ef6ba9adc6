// End to end, each node's bound on its images: a version the server prunes leaves the worker's engine too (the
// node-pruning job the server runs after the registry's collection), the live version stays, and the job's service
// is gone after it.
import test from 'ava';
import { example, type Lambda } from '../helpers/lambda.js';
import { REGISTRY_PULL, instancesOf, startSwarmLambda, tasksOf, waitFor, type Swarm, type SwarmRegistry } from '../helpers/swarm.js';

const MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
// An idle instance stops soon, so a version's last instance is gone before its image is pruned on the node.
const manifest = 'runtime: node20\nhandler: index.handler\ntimeout: 10s\nmemory: 128Mi\nidleTimeout: 3s\n';

let swarm: Swarm | undefined;
let lambda: Lambda | undefined;
let registry: SwarmRegistry;
let destroy: (() => Promise<void>) | undefined;

test.before(async () => {
  ({ swarm, lambda, registry, destroy } = await startSwarmLambda({
    LAMBDA_KEEP_IMAGES: '1',
    LAMBDA_SWARM_REGISTRY_COLLECT_EVERY: '1',
  }));
});

test.after.always(async () => {
  await destroy?.();
});

/** greet's images on the worker's engine, as `<digest>`s. */
async function onWorker(): Promise<string[]> {
  const out = await swarm!.docker(swarm!.nodes[1], ['images', '--digests', '--format', '{{.Digest}}', `${REGISTRY_PULL}/lambda-fn/greet`]);
  return out.split('\n').filter(Boolean).sort();
}

/** The digest the registry gives a commit's version of greet (its tag: the commit's short sha). */
async function digestOf(sha: string): Promise<string> {
  const answer = await fetch(`http://${registry.push}/v2/lambda-fn/greet/manifests/${sha.slice(0, 12)}`, { method: 'HEAD', headers: { accept: MANIFEST_V2 } });
  const digest = answer.headers.get('docker-content-digest');
  if (answer.status !== 200 || !digest) throw new Error(`no manifest of ${sha}: ${answer.status}`);
  return digest;
}

async function push(): Promise<string> {
  const pushed = await lambda!.push('greet', example('greet'), { files: { 'lambda.yaml': manifest, 'version.txt': String(Date.now()) } });
  if (pushed.code !== 0) throw new Error(`${pushed.stderr}\n${lambda!.output()}`);
  return pushed.sha;
}

const jobs = async () => (await swarm!.docker(swarm!.manager, ['service', 'ls', '-q', '--filter', 'label=lambda.node-prune=true'])).trim();

test.serial("a pruned version's image leaves the worker's engine, the live one stays, and the job's service is removed", async (t) => {
  t.timeout(900_000);
  const s = swarm!;
  const v1 = await digestOf(await push());
  t.is((await lambda!.fetch('/fn/greet/?name=One')).status, 200, lambda!.output());
  // Placement is the swarm's: with the manager taking no new task (its relay for greet runs already), greet's next
  // instances, and the job's task, go to the worker.
  const managerId = (await s.docker(s.manager, ['info', '--format', '{{.Swarm.NodeID}}'])).trim();
  await s.docker(s.manager, ['node', 'update', '--availability', 'pause', managerId]);
  await waitFor(async () => {
    if ((await onWorker()).includes(v1)) return true;
    // The first instance ran on the manager: once it stops for idling, the next one starts on the worker.
    if ((await instancesOf(s, 'greet')).length === 0) t.is((await lambda!.fetch('/fn/greet/?name=Again')).status, 200);
    return false;
  }, 120_000, 'the first version on the worker');
  const [first] = await instancesOf(s, 'greet');
  if (first) t.is((await tasksOf(s, first))[0]?.[0].index, 1, 'the instance runs on the worker');

  const v2 = await digestOf(await push());
  t.is((await lambda!.fetch('/fn/greet/?name=Two')).status, 200, lambda!.output());
  t.true((await onWorker()).includes(v2), 'the live version runs on the worker');
  // Kept: one version. The first is pruned on the manager, deleted from the registry, collected, and then each
  // node's job removes it (once its last instance there has stopped: an image in use stays until the next run).
  await waitFor(async () => (await onWorker()).join() === v2, 300_000, "the pruned version to leave the worker's engine");
  t.deepEqual(await onWorker(), [v2]);
  // The worker's summary reaches the server's log once its task has ended.
  await waitFor(async () => /node pruning on [^:]+: pruner: removed [1-9]/.test(lambda!.output()), 60_000, "the worker's summary in the server's log");
  await waitFor(async () => (await jobs()) === '', 60_000, "the job's service to be removed");
  t.is((await lambda!.fetch('/fn/greet/?name=Kept')).status, 200, lambda!.output());
});
