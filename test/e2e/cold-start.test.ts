// End to end: cold starts from pre-started cells. A deployed function whose instance stopped answers its
// next request from a cell of the pool, which is refilled; the cell runs that version's files, env and memory limit,
// serves one function only, is removed when its instance stops, resists public requests, and no waiting cell
// survives the server. A version setting a variable Node reads only at start (OPENSSL_CONF) starts classically.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { InstanceClients } from '../../server/instances/requests/client.js';
import { ROOT, command, fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;
const CELLS = 2;

/** A handler that reports what it sees: its files, its whole environment, whether it can write its task folder. */
const INSPECT = `import fs from 'node:fs';
export const handler = async (event) => {
  if (event.rawPath === '/files') {
    let write;
    try { fs.writeFileSync('/var/task/evil.js', 'x'); write = 'succeeded'; } catch (error) { write = error.code; }
    return { files: fs.readdirSync('/var/task').sort(), marker: fs.readFileSync('/var/task/marker.txt', 'utf8'), cwd: process.cwd(), write };
  }
  if (event.rawPath === '/env') return { env: process.env };
  return { path: event.rawPath, headers: event.headers, body: event.body ?? null };
};
`;

interface Container {
  id: string;
  name: string;
  running: boolean;
  /** lambda.cell: the runtime of a container that was a cell. */
  cell: string;
  /** lambda.instance: the instance id, for a cell too. */
  instance: string;
  /** The function served: lambda.function for a classic instance, what the server recorded for a cell that became one. */
  fn: string;
}

test.before(async () => {
  await requireDocker();
  // Instances stop after 4 s idle, so the tests see cold starts without restarting the server (long enough that a
  // busy machine inspects an instance before it stops).
  // The pool held at its floor (no growth from recent cold starts), so these tests can count its cells exactly.
  lambda = await startLambda({ LAMBDA_IDLE_TIMEOUT: '4s', LAMBDA_CELLS: String(CELLS), LAMBDA_POOL_MAX: '0' });
});

test.after.always(async () => {
  await lambda?.destroy();
});

const tasksDir = () => path.join(lambda.dataDir, 'data', 'cells', 'tasks');

/** What a cell became, as the server records it beside its task folder (its labels cannot change). */
function servedBy(instance: string): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(tasksDir(), `${instance}.json`), 'utf8')) as { fn: string }).fn;
  } catch {
    return '';
  }
}

/** Every container of this server, with the labels that tell cells from classic instances. */
async function containers(): Promise<Container[]> {
  const format = '{{.ID}}|{{.Names}}|{{.State}}|{{.Label "lambda.cell"}}|{{.Label "lambda.instance"}}|{{.Label "lambda.function"}}';
  const { stdout } = await command('docker', ['ps', '-a', '--no-trunc', '--filter', `label=lambda.server=${lambda.serverId()}`, '--format', format]);
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, name, state, cell, instance, label] = line.split('|');
      return { id, name, running: state === 'running', cell, instance, fn: label || (cell ? servedBy(instance) : '') };
    });
}

/** Cells waiting in the pool (not yet an instance of any function). */
const waitingCells = async () => (await containers()).filter((c) => c.cell === 'node20' && c.fn === '');
/** The containers serving `fn`, classic or made from a cell. */
const instancesOf = async (fn: string) => (await containers()).filter((c) => c.fn === fn);

async function until<T>(what: string, probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!ok(value)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await probe();
  }
  return value;
}

/** Waits until `fn` has no instance (idle stop) and the pool holds its full size of booted cells. */
async function idleWithFullPool(fn: string): Promise<Container[]> {
  await until(`${fn} to stop`, () => instancesOf(fn), (list) => list.length === 0);
  const cells = await until('a full pool', waitingCells, (list) => list.length === CELLS && list.every((c) => c.running));
  // Running is not booted yet: give the shims time to dial in.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return cells;
}

async function deploy(name: string, manifest = 'runtime: node20\nhandler: index.handler\n'): Promise<void> {
  const push = await lambda.push(name, fixture('echo'), { files: { 'index.mjs': INSPECT, 'lambda.yaml': manifest, 'marker.txt': `files of ${name}\n` } });
  if (push.code !== 0) throw new Error(push.stderr);
}

async function get(pathname: string): Promise<{ status: number; body: any }> {
  const response = await lambda.fetch(pathname);
  return { status: response.status, body: await response.json() };
}

async function inspect(id: string, format: string): Promise<string> {
  return (await command('docker', ['inspect', id, '--format', format])).stdout.trim();
}

/** What differs between two instances of the same version by design: their ids. */
function withoutInstanceIds(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => name !== 'HOSTNAME' && name !== 'AWS_LAMBDA_LOG_STREAM_NAME'));
}

test.serial('an idle function answers its first request from a cell, with the same files and env as a classic instance; the pool is refilled', async (t) => {
  await deploy('cold');
  // The first deploy finds no cell (the pool fills once something is deployed): its instance is a classic container.
  const [classic] = await instancesOf('cold');
  t.is(classic.cell, '', 'the deploy started a classic container');
  const classicEnv = (await get('/fn/cold/env')).body.env as Record<string, string>;
  const classicFiles = (await get('/fn/cold/files')).body;

  const before = await idleWithFullPool('cold');
  const answer = await get('/fn/cold/env');
  t.is(answer.status, 200);
  const [instance] = await instancesOf('cold');
  t.truthy(instance);
  t.true(
    before.some((cell) => cell.id === instance.id),
    'a cell of the pool became the instance',
  );
  t.is(instance.cell, 'node20');
  t.is(await inspect(instance.id, '{{index .Config.Labels "lambda.function"}}'), '', 'a cell carries no function label');
  t.is(await inspect(instance.id, '{{index .Config.Labels "lambda.managed"}}'), 'false', 'it is not counted as a function container');
  // Named as its function's instance shortly after its first answer, for `docker ps`.
  await until('the cell to take its name', async () => (await instancesOf('cold'))[0].name, (name) => name === `lambda-cold-${instance.instance}`);

  const cellEnv = answer.body.env as Record<string, string>;
  t.deepEqual(withoutInstanceIds(cellEnv), withoutInstanceIds(classicEnv), 'the same environment as a classic instance');
  t.is(cellEnv.AWS_LAMBDA_FUNCTION_NAME, 'cold');
  t.is(cellEnv.AWS_LAMBDA_LOG_STREAM_NAME, instance.instance);
  t.false('LAMBDA_INSTANCE_SECRET' in cellEnv, 'the instance secret never reaches the function');
  t.false('LAMBDA_CELL' in cellEnv);
  t.deepEqual((await get('/fn/cold/files')).body, classicFiles);
  t.deepEqual(classicFiles, { files: ['index.mjs', 'lambda.yaml', 'marker.txt'], marker: 'files of cold\n', cwd: '/var/task', write: 'EROFS' });

  // The pool is refilled in the background, with new cells only.
  const after = await until('the pool to be refilled', waitingCells, (list) => list.length === CELLS);
  t.false(after.some((cell) => cell.id === instance.id));
});

test.serial('a cell takes the function memory limit and env; two functions never share a cell nor see each other', async (t) => {
  await deploy('small', 'runtime: node20\nhandler: index.handler\nmemory: 128Mi\nenv:\n  GREETING: hi\n');
  await deploy('large', 'runtime: node20\nhandler: index.handler\nmemory: 384Mi\n');
  await idleWithFullPool('small');
  await idleWithFullPool('large');
  const [small, large] = await Promise.all([get('/fn/small/files'), get('/fn/large/files')]);
  t.is(small.body.marker, 'files of small\n');
  t.is(large.body.marker, 'files of large\n');
  const [smallInstance] = await instancesOf('small');
  const [largeInstance] = await instancesOf('large');
  t.is(smallInstance.cell, 'node20');
  t.is(largeInstance.cell, 'node20');
  t.not(smallInstance.id, largeInstance.id);
  t.is(await inspect(smallInstance.id, '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}'), `${128 * 1024 * 1024} ${128 * 1024 * 1024}`);
  t.is(await inspect(largeInstance.id, '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}'), `${384 * 1024 * 1024} ${384 * 1024 * 1024}`);
  const smallEnv = (await get('/fn/small/env')).body.env as Record<string, string>;
  const largeEnv = (await get('/fn/large/env')).body.env as Record<string, string>;
  t.like(smallEnv, { GREETING: 'hi', AWS_LAMBDA_FUNCTION_NAME: 'small', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128', LAMBDA_MEMORY_MB: '128' });
  t.like(largeEnv, { AWS_LAMBDA_FUNCTION_NAME: 'large', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '384' });
  t.false('GREETING' in largeEnv);

  // Hardened as any instance: each mounts its own read-only task folder and the host's socket folder, nothing else.
  for (const instance of [smallInstance, largeInstance]) {
    const host = JSON.parse(await inspect(instance.id, '{{json .HostConfig}}')) as Record<string, any>;
    t.is(host.NetworkMode, 'none');
    t.true(host.ReadonlyRootfs);
    t.deepEqual(host.CapDrop, ['ALL']);
    t.deepEqual(host.SecurityOpt, ['no-new-privileges']);
    t.true(host.PidsLimit > 0);
    t.true(host.NanoCpus > 0);
    t.truthy(host.Tmpfs['/tmp']);
    t.is(await inspect(instance.id, '{{.Config.User}}'), '10001:10001');
    const id = instance.instance;
    t.deepEqual(
      (host.Binds as string[]).sort(),
      [`${path.join(lambda.dataDir, 'data', 'cells', 'tasks', id)}:/var/task:ro`, `${path.join(lambda.dataDir, 'data', 'instances', id)}:/run/lambda:ro`].sort(),
    );
  }
});

test.serial('a version that would not run in a cell as in its own container starts classically, and the pool keeps its cells', async (t) => {
  // Node sizes its heap by the memory limit at boot above 512 MiB (NODE_OPTIONS, read only at start, is refused in lambda.yaml).
  await deploy('big', 'runtime: node20\nhandler: index.handler\nmemory: 1Gi\n');
  const cells = await idleWithFullPool('big');
  t.is((await get('/fn/big/files')).body.marker, 'files of big\n');
  const [big] = await instancesOf('big');
  t.is(big.cell, '', 'a 1 GiB function boots its own container');
  t.is(await inspect(big.id, '{{.HostConfig.Memory}}'), String(1024 * 1024 * 1024));
  t.deepEqual((await waitingCells()).map((c) => c.id).sort(), cells.map((c) => c.id).sort(), 'no cell was used');
});

/** An OpenSSL configuration that loads the legacy provider (md4): Node reads its nodejs_conf section at start. */
const LEGACY_OPENSSL = `nodejs_conf = openssl_init

[openssl_init]
providers = provider_sect

[provider_sect]
default = default_sect
legacy = legacy_sect

[default_sect]
activate = 1

[legacy_sect]
activate = 1
`;

test.serial('a version whose OPENSSL_CONF loads the legacy provider starts classically, so md4 works as in its own container', async (t) => {
  const handler = `import { createHash } from 'node:crypto';
export const handler = async () => {
  try { return { md4: createHash('md4').update('lambda').digest('hex') }; } catch (error) { return { md4: error.code }; }
};
`;
  const manifest = 'runtime: node20\nhandler: index.handler\nenv:\n  OPENSSL_CONF: /var/task/openssl.cnf\n';
  const push = await lambda.push('legacy', fixture('echo'), { files: { 'index.mjs': handler, 'lambda.yaml': manifest, 'openssl.cnf': LEGACY_OPENSSL } });
  t.is(push.code, 0, push.stderr);
  const cells = await idleWithFullPool('legacy');
  const answer = await get('/fn/legacy/');
  t.is(answer.status, 200);
  // md4 of 'lambda' (RFC 1320), which only the legacy provider computes.
  t.deepEqual(answer.body, { md4: '6001e25809e766d550f2d82d21b9edf8' });
  const [legacy] = await instancesOf('legacy');
  t.is(legacy.cell, '', 'a version setting a variable read only at start boots its own container');
  t.deepEqual((await waitingCells()).map((c) => c.id).sort(), cells.map((c) => c.id).sort(), 'no cell was used');
});

// A cell holds only the task folder of a version: an image built from a repository's own Dockerfile can look like
// a node20 one (its base, its shim, its start) and still add files elsewhere, which a cell would not have.
test.serial('a `docker`-runtime version made to look like a node20 one starts as its own container, with the files it added', async (t) => {
  const dir = fs.mkdtempSync(path.join(lambda.dataDir, 'lookalike-'));
  fs.cpSync(path.join(ROOT, 'buildpacks', 'node20', 'shim'), path.join(dir, 'shim'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'extra'));
  fs.mkdirSync(path.join(dir, 'code'));
  fs.writeFileSync(path.join(dir, 'extra', 'marker.txt'), 'outside the task folder\n');
  fs.writeFileSync(
    path.join(dir, 'code', 'index.mjs'),
    "import fs from 'node:fs';\nexport const handler = async () => { try { return { extra: fs.readFileSync('/opt/extra/marker.txt', 'utf8') }; } catch (error) { return { extra: error.code }; } };\n",
  );
  fs.writeFileSync(path.join(dir, 'lambda.yaml'), 'runtime: docker\n');
  fs.writeFileSync(
    path.join(dir, 'Dockerfile'),
    [
      'FROM lambda/node20',
      'ENV LAMBDA_TASK_ROOT=/var/task NODE_ENV=production HOME=/tmp',
      'WORKDIR /var/task',
      'COPY shim/ /opt/lambda/shim/',
      'COPY extra/ /opt/extra/',
      'COPY code/ /var/task/',
      'USER 10001:10001',
      'CMD ["node", "/opt/lambda/shim/main.mjs"]',
      '',
    ].join('\n'),
  );
  const push = await lambda.push('lookalike', dir);
  t.is(push.code, 0, push.stderr);
  t.deepEqual((await get('/fn/lookalike/')).body, { extra: 'outside the task folder\n' }, 'its own container has the file');

  const cells = await idleWithFullPool('lookalike');
  t.deepEqual((await get('/fn/lookalike/')).body, { extra: 'outside the task folder\n' }, 'a cold start runs what was pushed');
  const [instance] = await instancesOf('lookalike');
  t.is(instance.cell, '', 'a docker-runtime version boots its own container');
  t.deepEqual((await waitingCells()).map((c) => c.id).sort(), cells.map((c) => c.id).sort(), 'no cell was used');
});

/** Each version copy for cells that holds the `ms` dependency: its folder under data/cells/versions. */
function copiesWithDependency(dataDir: string): string[] {
  const versions = path.join(dataDir, 'data', 'cells', 'versions');
  return fs
    .readdirSync(versions)
    .filter((entry) => /^[0-9a-f]{64}$/.test(entry) && fs.existsSync(path.join(versions, entry, 'node_modules', 'ms', 'index.js')))
    .map((entry) => path.join(versions, entry));
}

test.serial("a code-only push's files for cells share the dependency's files with the version before it, and its cold start runs the new code", async (t) => {
  const first = await lambda.push('shared', fixture('with-dependency'));
  t.is(first.code, 0, first.stderr);
  const code = "import ms from 'ms';\n\nexport const handler = async () => ({ twoDays: ms('2 days'), version: 2 });\n";
  const second = await lambda.push('shared', fixture('with-dependency'), { files: { 'index.mjs': code } });
  t.is(second.code, 0, second.stderr);
  // Both are prepared for cells: the live version, and the one a rollback would go to.
  const copies = await until('both versions copied for cells', async () => copiesWithDependency(lambda.dataDir), (list) => list.length === 2);
  const ino = (dir: string, file: string) => fs.statSync(path.join(dir, file)).ino;
  t.is(ino(copies[0], 'node_modules/ms/index.js'), ino(copies[1], 'node_modules/ms/index.js'), 'one file on disk for both versions');
  t.is(ino(copies[0], 'node_modules/ms/package.json'), ino(copies[1], 'node_modules/ms/package.json'));
  t.not(ino(copies[0], 'index.mjs'), ino(copies[1], 'index.mjs'), 'the changed code is its own');

  await idleWithFullPool('shared');
  t.deepEqual((await get('/fn/shared/')).body, { twoDays: 172_800_000, version: 2 });
  const [instance] = await instancesOf('shared');
  t.is(instance.cell, 'node20');
});

test.serial("a server whose cells' files would pass LAMBDA_MAX_CELL_FILES starts such a version as its own container, and says so", async (t) => {
  const small = await startLambda({ LAMBDA_IDLE_TIMEOUT: '4s', LAMBDA_CELLS: '1', LAMBDA_MAX_CELL_FILES: '1Ki' });
  try {
    const push = await small.push('bounded', fixture('with-dependency'));
    t.is(push.code, 0, push.stderr);
    const over = await until('the bound noticed', async () => small.output(), (log) => /past LAMBDA_MAX_CELL_FILES \(1024\)/.test(log));
    t.regex(over, /its versions start as their own containers/);
    t.deepEqual(copiesWithDependency(small.dataDir), [], 'no copy is kept past the bound');
    await until('bounded to stop', async () => small.containers('bounded'), (list) => list.length === 0);
    t.deepEqual(await (await small.fetch('/fn/bounded/')).json(), { twoDays: 172_800_000, version: 1 });
    const [id] = await small.containers('bounded');
    t.is(await inspect(id, '{{index .Config.Labels "lambda.cell"}}'), '', 'its own container, not a cell');
  } finally {
    await small.destroy();
  }
});

test.serial('a used cell is removed with its task folder once its instance stops, and the pool stays bounded', async (t) => {
  await idleWithFullPool('cold');
  await get('/fn/cold/env');
  const [instance] = await instancesOf('cold');
  t.is(instance.cell, 'node20');
  const id = instance.instance;
  const taskDir = path.join(tasksDir(), id);
  t.true(fs.existsSync(taskDir));
  await until('the instance to stop', () => instancesOf('cold'), (list) => list.length === 0);
  t.false((await containers()).some((c) => c.id === instance.id), 'the cell is gone, never back in the pool');
  t.false(fs.existsSync(taskDir));
  t.false(fs.existsSync(path.join(lambda.dataDir, 'data', 'instances', id)));
  // Several cold starts later the pool holds its size, no more.
  for (const fn of ['cold', 'small', 'large']) await get(`/fn/${fn}/env`);
  await until('the pool to be refilled', waitingCells, (list) => list.length === CELLS && list.every((c) => c.running));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.is((await waitingCells()).length, CELLS);
});

test.serial('a public request with init headers, even with the right cell secret, cannot specialise or re-init anything', async (t) => {
  await idleWithFullPool('cold');
  await get('/fn/cold/env');
  const [instance] = await instancesOf('cold');
  t.is(instance.cell, 'node20');
  // The secret is in no container setting (it comes on stdin): derive it as the server does.
  const secret = new InstanceClients(Buffer.from(fs.readFileSync(path.join(lambda.dataDir, 'data', 'instance-key'), 'utf8').trim(), 'hex')).secretOf(instance.instance);
  t.truthy(secret);
  const hijack = JSON.stringify({ env: { AWS_LAMBDA_FUNCTION_NAME: 'hijacked', LAMBDA_HANDLER: 'evil.handler', LAMBDA_TASK_ROOT: '/tmp' } });
  const attempts: Record<string, string>[] = [
    { 'x-lambda-internal-invoke': 'init', 'x-lambda-internal-secret': secret },
    { 'X-Lambda-Internal-Invoke': 'init', 'X-LAMBDA-INTERNAL-SECRET': secret },
  ];
  for (const headers of attempts) {
    const response = await lambda.fetch('/fn/cold/', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: hijack });
    t.is(response.status, 200);
    const body = (await response.json()) as { path: string; headers: Record<string, string>; body: string };
    t.is(body.path, '/', 'the handler answered it as an ordinary request');
    t.false(Object.keys(body.headers).some((name) => name.startsWith('x-lambda-internal-')));
  }
  const env = (await get('/fn/cold/env')).body.env as Record<string, string>;
  t.is(env.AWS_LAMBDA_FUNCTION_NAME, 'cold');
  t.is(env.LAMBDA_HANDLER, 'index.handler');
  const [still] = await instancesOf('cold');
  t.is(still.id, instance.id, 'the same instance serves, untouched');
  // Nor can public traffic reach a cell waiting in the pool: a function that has none answers 404.
  t.is((await lambda.fetch('/fn/cell/', { headers: { 'x-lambda-internal-invoke': 'init' } })).status, 404);
});

test.serial('after SIGKILL and a restart waiting cells are removed, never adopted, and an instance made from a cell is adopted as any; SIGTERM leaves nothing', async (t) => {
  await idleWithFullPool('cold');
  await get('/fn/cold/env');
  const [specialised] = await instancesOf('cold');
  t.is(specialised.cell, 'node20');
  // The cell just taken is replaced in the background.
  const waiting = await until('the pool to be refilled', waitingCells, (list) => list.length === CELLS);
  t.is(waiting.length, CELLS);
  await lambda.restart('SIGKILL');
  const after = await containers();
  for (const cell of waiting) t.false(after.some((c) => c.id === cell.id), 'waiting cells of the killed server were removed');
  t.true(after.some((c) => c.id === specialised.id), 'the instance cold was served by is adopted');
  t.regex(lambda.output(), /[1-9] instances adopted/);
  const tasks = fs.readdirSync(tasksDir());
  for (const cell of waiting) t.false(tasks.includes(cell.instance), 'no task folder is left of a removed cell');
  t.true(tasks.includes(specialised.instance));
  // It keeps serving cold, and the new server fills a pool of its own.
  t.is((await get('/fn/cold/env')).body.env.AWS_LAMBDA_FUNCTION_NAME, 'cold');
  t.deepEqual(
    (await instancesOf('cold')).map((c) => c.id),
    [specialised.id],
  );
  await until('a new pool', waitingCells, (list) => list.length === CELLS);

  await lambda.stop('SIGTERM');
  t.deepEqual(await containers(), [], 'no cell nor instance is left after SIGTERM');
});
