// The node pruning's pieces: the keep list read from the manager's engine, the job's hardened service, when the job
// has ended, and its summary lines; and the pruner itself (the Go program) against a fake engine on a Unix socket.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import type Docker from 'dockerode';
import { createImageGate } from '../image-gate.js';
import { MAX_KEEP, TASK_SOCKET, createNodePrune, eligibleNodes, fromNode, jobDone, keepList, leftOver, logLines, prunerService } from './node-prune.js';

const run = promisify(execFile);
const digest = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const PULL = '10.0.0.1:5000';

test('the keep list is the digests of every version whose image the manager still has, and nothing else', (t) => {
  const keep = keepList([
    // A kept version: its local tag, and the push side's tag and digest (the same image).
    { RepoTags: ['lambda-fn/greet:3f2c1a9b7e01', '127.0.0.1:5001/lambda-fn/greet:3f2c1a9b7e01'], RepoDigests: [`127.0.0.1:5001/lambda-fn/greet@${digest(1)}`] },
    // Also run on the manager: the read side's digest beside it.
    { RepoTags: ['lambda-fn/other:aaaaaaaaaaaa'], RepoDigests: [`127.0.0.1:5001/lambda-fn/other@${digest(2)}`, `${PULL}/lambda-fn/other@${digest(2)}`] },
    // A pruned version the manager ran: only the read side's reference is left, no version tag.
    { RepoTags: [], RepoDigests: [`${PULL}/lambda-fn/greet@${digest(3)}`] },
    { RepoTags: null as unknown as string[], RepoDigests: [`${PULL}/lambda-fn/greet@${digest(4)}`] },
    // Built, never pushed: no digest to keep.
    { RepoTags: ['lambda-fn/fresh:bbbbbbbbbbbb'], RepoDigests: [] },
    // Not a version: a base image, the platform's own images.
    { RepoTags: ['lambda/base-node20:b044faaecedb'], RepoDigests: [`x/lambda/base@${digest(5)}`] },
    { RepoTags: ['127.0.0.1:5001/lambda/pruner:0123456789ab'], RepoDigests: [`127.0.0.1:5001/lambda/pruner@${digest(6)}`] },
  ]);
  t.deepEqual(keep, [digest(1), digest(2)]);
});

test("the job's service: once on every node, its engine's socket and nothing else, hardened, never restarted", (t) => {
  const keep = [digest(1), digest(2)];
  const service = prunerService({ name: 'lambda-node-prune-1', serverId: 'srv', image: `${PULL}/lambda/pruner@${digest(7)}`, pull: PULL, socket: '/var/run/docker.sock', keep }) as {
    Labels: Record<string, string>;
    Mode: unknown;
    TaskTemplate: { ContainerSpec: Record<string, unknown>; Resources: { Limits: Record<string, number> }; RestartPolicy: { Condition: string }; Networks: unknown[] };
  };
  t.deepEqual(service.Mode, { GlobalJob: {} });
  t.deepEqual(service.Labels, { 'lambda.server': 'srv', 'lambda.node-prune': 'true' });
  const spec = service.TaskTemplate.ContainerSpec;
  t.is(spec.Image, `${PULL}/lambda/pruner@${digest(7)}`, 'named by digest: every node runs the same bytes');
  t.deepEqual(spec.Args, ['-repository', `${PULL}/lambda-fn/`, '-socket', TASK_SOCKET, '-most', '100', '-timeout', '60s', ...keep]);
  t.deepEqual(spec.Mounts, [{ Type: 'bind', Source: '/var/run/docker.sock', Target: TASK_SOCKET }]);
  t.true(spec.ReadOnly);
  t.deepEqual(spec.CapabilityDrop, ['ALL']);
  t.deepEqual(service.TaskTemplate.Networks, [], 'no network');
  t.true(service.TaskTemplate.Resources.Limits.MemoryBytes <= 32 << 20 && service.TaskTemplate.Resources.Limits.Pids <= 32);
  t.is(service.TaskTemplate.RestartPolicy.Condition, 'none');
});

test("the job has ended once every ready, active node's task has; the summary lines are read from the engine's frames", (t) => {
  const nodes = [
    { ID: 'a', Status: { State: 'ready' }, Spec: { Availability: 'active' } },
    { ID: 'b', Status: { State: 'ready' }, Spec: { Availability: 'active' } },
    { ID: 'c', Status: { State: 'down' }, Spec: { Availability: 'active' } },
    { ID: 'd', Status: { State: 'ready' }, Spec: { Availability: 'drain' } },
  ];
  t.deepEqual(eligibleNodes(nodes).map((node) => node.ID), ['a', 'b']);
  t.false(jobDone([{ NodeID: 'a', Status: { State: 'complete' } }], nodes), "b's task is not there yet");
  t.false(jobDone([{ NodeID: 'a', Status: { State: 'complete' } }, { NodeID: 'b', Status: { State: 'running' } }], nodes));
  t.true(jobDone([{ NodeID: 'a', Status: { State: 'complete' } }, { NodeID: 'b', Status: { State: 'failed' } }], nodes));
  const frame = (text: string) => Buffer.concat([Buffer.from([1, 0, 0, 0]), Buffer.from(new Uint32Array([0]).buffer), Buffer.from(text)]);
  const frames = [frame('pruner: removed 2, in use 1, already gone 0, failed 0, kept 3, left for the next run 0\n'), frame('pruner: removed 0, in use 0, already gone 0, failed 0, kept 3, left for the next run 4\n')];
  for (const each of frames) each.writeUInt32BE(each.length - 8, 4);
  const lines = logLines(Buffer.concat(frames));
  t.is(lines.length, 2);
  t.deepEqual(lines.map(leftOver), [1, 4]);
  // Asked for with details, each line says which node's task wrote it.
  const names = new Map([['n1', 'worker-1']]);
  t.deepEqual(fromNode(`com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s,com.docker.swarm.task.id=t ${lines[0]}`, names), { node: 'worker-1', text: lines[0] });
  t.deepEqual(fromNode('pruner: removed 0', names), { text: 'pruner: removed 0' });
});

/** The pruner, built once for these tests. */
const source = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pruner', 'main.go');
const binDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-pruner-'));
const binary = path.join(binDir, 'pruner');
test.before(() => {
  execFileSync('go', ['build', '-trimpath', '-o', binary, source], { env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '' }, timeout: 300_000 });
});
test.after.always(() => fs.rmSync(binDir, { recursive: true, force: true }));

/** A fake engine on a Unix socket: its images (id → repo digests), which references a container uses, and the requests it saw. */
async function fakeEngine(t: { teardown(fn: () => void): void }, images: Record<string, string[]>, used: string[] = []) {
  const socket = path.join(binDir, `engine-${Math.random().toString(16).slice(2)}.sock`);
  const requests: string[] = [];
  const server = http.createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    if (request.method === 'GET' && request.url === '/v1.41/images/json') {
      return response.end(JSON.stringify(Object.entries(images).map(([Id, RepoDigests]) => ({ Id, RepoDigests, RepoTags: null }))));
    }
    const removal = /^\/v1\.41\/images\/(.+)\?force=false$/.exec(request.url ?? '');
    if (request.method === 'DELETE' && removal) {
      const id = Object.keys(images).find((each) => images[each].includes(removal[1]));
      if (!id) return response.writeHead(404).end('{}');
      if (used.includes(removal[1])) return response.writeHead(409).end('{"message":"conflict"}');
      images[id] = images[id].filter((each) => each !== removal[1]);
      if (images[id].length === 0) delete images[id];
      return response.end('[]');
    }
    response.writeHead(500).end();
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  t.teardown(() => server.close());
  return { socket, images, requests };
}

const fn = (name: string, n: number) => `${PULL}/lambda-fn/${name}@${digest(n)}`;

test("the pruner removes every function reference whose digest is not kept, never forced, and leaves anything else", async (t) => {
  const engine = await fakeEngine(t, {
    old: [fn('greet', 1)],
    live: [fn('greet', 2)],
    draining: [fn('other', 3)],
    // Not the functions' repository: the pruner itself, a relay, another registry's image of the same name.
    pruner: [`${PULL}/lambda/pruner@${digest(4)}`],
    elsewhere: [`10.0.0.9:5000/lambda-fn/greet@${digest(5)}`],
    // A reference that only looks like one: a path below the repository.
    nested: [`${PULL}/lambda-fn/greet/x@${digest(6)}`],
  }, [fn('other', 3)]);
  const { stdout } = await run(binary, ['-repository', `${PULL}/lambda-fn/`, '-socket', engine.socket, digest(2)]);
  t.is(stdout.trim(), 'pruner: removed 1, in use 1, already gone 0, failed 0, kept 1, left for the next run 0');
  t.deepEqual(Object.keys(engine.images).sort(), ['draining', 'elsewhere', 'live', 'nested', 'pruner']);
  t.deepEqual(engine.requests.filter((each) => each.startsWith('DELETE')).sort(), [`DELETE /v1.41/images/${fn('greet', 1)}?force=false`, `DELETE /v1.41/images/${fn('other', 3)}?force=false`]);
});

test('the pruner removes at most -most references a run (the same ones on every node), and refuses what is not a digest to keep', async (t) => {
  const engine = await fakeEngine(t, { a: [fn('c', 3)], b: [fn('a', 1)], c: [fn('b', 2)] });
  const { stdout } = await run(binary, ['-repository', `${PULL}/lambda-fn/`, '-socket', engine.socket, '-most', '2']);
  t.regex(stdout, /removed 2, .* left for the next run 1$/m);
  t.deepEqual(Object.values(engine.images), [[fn('c', 3)]], 'the first two in order went');
  const refused = await run(binary, ['-repository', `${PULL}/lambda-fn/`, '-socket', engine.socket, 'sha256:nothex']).catch((error: { code: number; stderr: string }) => error);
  t.is((refused as { code: number }).code, 2);
  t.regex((refused as { stderr: string }).stderr, /not a digest to keep/);
  t.is(engine.requests.filter((each) => each.startsWith('DELETE')).length, 2, 'nothing removed by the refused run');
  const noRepository = await run(binary, ['-socket', engine.socket]).catch((error: { code: number }) => error);
  t.is((noRepository as { code: number }).code, 2);
});

/** A manager's engine as the run uses it: its images, the services made and removed, and each job's tasks ending at once. */
function fakeManager(options: { summary?: string; tasks?: (serviceId: string) => Array<{ NodeID: string; Status: { State: string } }> } = {}) {
  const made: Array<Record<string, unknown>> = [];
  const removed: string[] = [];
  const services = new Map<string, Record<string, unknown>>([['left-1', { Name: 'lambda-node-prune-left' }]]);
  const line = options.summary ?? 'pruner: removed 1, in use 0, already gone 0, failed 0, kept 1, left for the next run 0\n';
  const frame = Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), Buffer.from(line)]);
  frame.writeUInt32BE(line.length, 4);
  const docker = {
    listImages: async () => [{ RepoTags: ['lambda-fn/greet:3f2c1a9b7e01'], RepoDigests: [`127.0.0.1:5001/lambda-fn/greet@${digest(1)}`] }],
    listServices: async () => [...services.keys()].map((ID) => ({ ID })),
    createService: async (spec: Record<string, unknown>) => {
      made.push(spec);
      const ID = `job-${made.length}`;
      services.set(ID, spec);
      return { id: ID };
    },
    getService: (id: string) => ({
      remove: async () => {
        removed.push(id);
        services.delete(id);
      },
      logs: async () => frame,
    }),
    listNodes: async () => [{ ID: 'n1', Status: { State: 'ready' }, Spec: { Availability: 'active' } }],
    listTasks: async ({ filters }: { filters: { service: string[] } }) => (options.tasks ?? (() => [{ NodeID: 'n1', Status: { State: 'complete' } }]))(filters.service[0]),
  };
  return { docker: docker as unknown as Docker, made, removed, services };
}

test("a run: a job left before is removed first, the job is made with the manager's keep list while the gate is held alone, its summary logged, its service removed", async (t) => {
  const gate = createImageGate();
  const manager = fakeManager();
  const lines: string[] = [];
  let removingDuringJob = false;
  const prune = createNodePrune({
    docker: manager.docker, serverId: 'srv', pull: PULL, socket: '/var/run/docker.sock', gate, pushing: () => 0,
    image: async () => `${PULL}/lambda/pruner@${digest(7)}`,
    log: (line) => {
      removingDuringJob ||= gate.state().removing;
      lines.push(line);
    },
  });
  t.teardown(() => prune.close());
  t.true(await prune.run());
  t.is(manager.made.length, 1);
  t.deepEqual(manager.removed, ['left-1', 'job-1'], 'the job left by an earlier run, then this one');
  t.deepEqual(((manager.made[0].TaskTemplate as { ContainerSpec: { Args: string[] } }).ContainerSpec.Args).slice(8), [digest(1)]);
  t.deepEqual(lines, ['node pruning: pruner: removed 1, in use 0, already gone 0, failed 0, kept 1, left for the next run 0']);
  t.true(removingDuringJob, 'the gate is held alone while the job runs');
  t.false(gate.state().removing);
});

test('no job while a push is under way (tried again soon); an image still in use is tried again, three times at most', async (t) => {
  const alive = setInterval(() => {}, 1000);
  t.teardown(() => clearInterval(alive));
  let pushes = 1;
  const lines: string[] = [];
  const manager = fakeManager({ summary: 'pruner: removed 0, in use 1, already gone 0, failed 0, kept 1, left for the next run 0\n' });
  const gate = createImageGate(10);
  const prune = createNodePrune({
    docker: manager.docker, serverId: 'srv', pull: PULL, socket: '/s', gate, pushing: () => pushes, followUpMs: 5,
    image: async () => `${PULL}/lambda/pruner@${digest(7)}`, log: (line) => lines.push(line),
  });
  t.teardown(() => prune.close());
  const build = gate.build(() => new Promise((resolve) => setTimeout(resolve, 50)));
  t.false(await prune.run(), 'let in beside a push: nothing made');
  t.is(manager.made.length, 0);
  pushes = 0;
  await build;
  // The follow-up after the deferred run, then up to three for the image in use.
  await waitUntil(() => manager.made.length === 3);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.is(manager.made.length, 3, 'bounded: three runs after a trigger');
  t.true(lines.every((line) => /in use 1/.test(line)));
});

test('past the most digests a job is given, no job is made and the server says so', async (t) => {
  const manager = fakeManager();
  const many = Array.from({ length: MAX_KEEP + 1 }, (_, n) => ({ RepoTags: [`lambda-fn/f${n}:aaaaaaaaaaaa`], RepoDigests: [`r/lambda-fn/f${n}@sha256:${n.toString(16).padStart(64, '0')}`] }));
  (manager.docker as unknown as { listImages: () => Promise<unknown[]> }).listImages = async () => many;
  const lines: string[] = [];
  const prune = createNodePrune({ docker: manager.docker, serverId: 'srv', pull: PULL, socket: '/s', gate: createImageGate(), pushing: () => 0, image: async () => 'x', log: (line) => lines.push(line) });
  t.teardown(() => prune.close());
  t.false(await prune.run());
  t.is(manager.made.length, 0);
  t.regex(lines.join('\n'), /skipped: the server keeps 5001 versions' images/);
});

async function waitUntil(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
}
