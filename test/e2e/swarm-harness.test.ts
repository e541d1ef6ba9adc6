// End to end, the swarm harness itself: two engines in namespaces of their own form one swarm, a service spreads over
// both, a task on one reaches a task on the other over an overlay network, and teardown leaves nothing behind.
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import test from 'ava';
import { ROOT, requireDocker } from '../helpers/lambda.js';
import {
  addressOn, alive, createSwarm, importProbe, mountsOf, namespacesOf, processesOf, removeAbandonedRuns, tasksOf, waitFor, type Swarm,
} from '../helpers/swarm.js';

let swarm: Swarm | undefined;

test.before(async () => {
  await requireDocker();
});

test.after.always(() => {
  swarm?.destroy();
});

test.serial('two engines form one swarm; a task on one reaches a task on the other over an overlay network', async (t) => {
  t.timeout(240_000);
  swarm = await createSwarm({ nodes: 2 });
  const s = swarm;
  const roles = (await s.docker(s.manager, ['node', 'ls', '--format', '{{.Status}} {{.ManagerStatus}}'])).split('\n').filter(Boolean).map((line) => line.trim()).sort();
  t.deepEqual(roles, ['Ready', 'Ready Leader']);

  const image = await importProbe(s);
  await s.docker(s.manager, ['network', 'create', '--driver', 'overlay', '--attachable', 'plain']);
  // --no-resolve-image: the image is in each engine already and there is no registry to ask for its digest.
  await s.docker(s.manager, ['service', 'create', '--detach', '--name', 'web', '--replicas', '2', '--replicas-max-per-node', '1',
    '--network', 'plain', '--no-resolve-image', image, 'serve', ':8080']);
  await waitFor(async () => (await tasksOf(s, 'web')).length === 2, 60_000, 'two running tasks of web');

  const tasks = await tasksOf(s, 'web');
  t.deepEqual(tasks.map(([node]) => node.index).sort(), [0, 1], 'one task on each node');
  const [[managerNode, managerTask], [workerNode, workerTask]] = tasks;
  const workerAddress = await addressOn(s, workerNode, workerTask, 'plain');
  const answer = await s.docker(managerNode, ['exec', managerTask, '/probe', 'get', `http://${workerAddress}:8080/`]);
  t.regex(answer, /^200 hello from /);
  t.true(answer.includes(workerTask.slice(0, 12)), 'the task on the worker answered');
});

test.serial('teardown stops the engines and removes their namespaces, links, mounts and folders', (t) => {
  t.truthy(swarm, 'the swarm of the test before was made');
  const s = swarm!;
  const pids = s.nodes.map((node) => node.pid);
  t.true(namespacesOf(s.id).length > 0);
  s.destroy();
  t.deepEqual(pids.filter(alive), [], 'every engine stopped');
  t.deepEqual(processesOf(s.dir), [], 'no containerd or shim of the run is left');
  t.deepEqual(namespacesOf(s.id), [], 'the namespaces (and the veths and bridge in them) are gone');
  t.deepEqual(mountsOf(s.dir), []);
  t.false(fs.existsSync(s.dir));
});

test.serial('a run whose test process was killed outright (no exit hook ran) is removed by the next run', async (t) => {
  t.timeout(120_000);
  // Another process makes a swarm, says where, and is killed with SIGKILL: its engines go on running, orphaned.
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
    const { createSwarm } = await import('./test/helpers/swarm.ts');
    const s = await createSwarm();
    console.log(JSON.stringify({ id: s.id, dir: s.dir, pids: s.nodes.map((node) => node.pid) }));
    setInterval(() => undefined, 1000);
  `], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const made = await new Promise<{ id: string; dir: string; pids: number[] }>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]));
    });
    child.on('exit', (code) => reject(new Error(`the child exited (${code}) before its swarm was made`)));
  });
  const gone = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await gone;
  t.true(made.pids.every(alive), 'its engines outlived it');
  t.true(namespacesOf(made.id).length > 0);

  // Another test file's swarm starting now may be the one that removes it: either way it is gone afterwards.
  removeAbandonedRuns();
  t.deepEqual(made.pids.filter(alive), []);
  t.deepEqual(processesOf(made.dir), []);
  t.deepEqual(namespacesOf(made.id), []);
  t.deepEqual(mountsOf(made.dir), []);
  t.false(fs.existsSync(made.dir));
});
