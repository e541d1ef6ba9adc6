// End to end: python3 cold starts from pre-started cells. An idle python3 function answers its next request from a
// cell of the pool, with its installed requirements (a compiled extension among them) as in its own container; two
// functions' cells never show one another's files or env; public traffic cannot init a cell; a version whose env
// the interpreter reads only at its start, or with a small memory limit, boots its own container; an instance made
// from a cell is adopted after a crash.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { InstanceClients } from '../../server/instances/requests/client.js';
import { command, fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;
const CELLS = 2;

/**
 * Validates its event with pydantic (its core is a compiled extension installed from requirements.txt), and reports
 * what it sees: its files, its requirements, its env, every process's env it can read, and any file on its
 * filesystem named after another function.
 */
const INSPECT = `import os
import pydantic


class Greeting(pydantic.BaseModel):
    name: str
    times: int = 1


def walk_names(root):
    names = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if os.path.join(folder, d) not in ('/proc', '/sys', '/dev')]
        names.extend(os.path.join(folder, name) for name in files + dirs)
    return names


def handler(event, context):
    path = event.get('rawPath')
    if path == '/validate':
        try:
            greeting = Greeting.model_validate_json(event.get('body') or '{}')
            return {'valid': True, 'greeting': greeting.model_dump()}
        except pydantic.ValidationError as error:
            return {'valid': False, 'errors': [e['loc'][0] for e in error.errors()]}
    if path == '/files':
        try:
            with open('/var/task/evil.py', 'w') as f:
                f.write('x')
            write = 'succeeded'
        except OSError as error:
            write = error.strerror
        return {'files': sorted(os.listdir('/var/task')), 'marker': open('/var/task/marker.txt').read(), 'cwd': os.getcwd(), 'write': write,
                'requirements': sorted(name for name in os.listdir('/opt/python') if name.startswith('pydantic'))}
    if path == '/look':
        environs = []
        for pid in os.listdir('/proc'):
            if pid.isdigit():
                try:
                    environs.append(open(f'/proc/{pid}/environ', 'rb').read().decode('utf-8', 'replace'))
                except OSError:
                    pass
        return {'names': [name for name in walk_names('/') if 'marker-of-' in name], 'environs': environs}
    return {'env': dict(os.environ)}
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
  // Instances stop after 4 s idle, so the tests see cold starts without restarting the server.
  // The pool held at its floor (no growth from recent cold starts), so these tests can count its cells exactly.
  lambda = await startLambda({ LAMBDA_IDLE_TIMEOUT: '4s', LAMBDA_CELLS: String(CELLS), LAMBDA_POOL_MAX: '0' });
});

test.after.always(async () => {
  await lambda?.destroy();
});

const tasksDir = () => path.join(lambda.dataDir, 'data', 'cells', 'tasks');

function servedBy(instance: string): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(tasksDir(), `${instance}.json`), 'utf8')) as { fn: string }).fn;
  } catch {
    return '';
  }
}

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

const waitingCells = async () => (await containers()).filter((c) => c.cell === 'python3' && c.fn === '');
const instancesOf = async (fn: string) => (await containers()).filter((c) => c.fn === fn);

async function until<T>(what: string, probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!ok(value)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await probe();
  }
  return value;
}

/** Waits until `fn` has no instance (idle stop) and the pool holds its full size of booted python3 cells. */
async function idleWithFullPool(fn: string): Promise<Container[]> {
  await until(`${fn} to stop`, () => instancesOf(fn), (list) => list.length === 0);
  const cells = await until('a full pool', waitingCells, (list) => list.length === CELLS && list.every((c) => c.running));
  // Running is not booted yet: give the shims time to dial in.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return cells;
}

async function deploy(name: string, env: Record<string, string> = {}, more = ''): Promise<void> {
  const manifest = `runtime: python3\nhandler: app.handler\n${more}env:\n${Object.entries({ TOKEN: `token-of-${name}`, ...env })
    .map(([key, value]) => `  ${key}: ${value}\n`)
    .join('')}`;
  const files = { 'app.py': INSPECT, 'lambda.yaml': manifest, 'requirements.txt': 'pydantic\n', [`marker-of-${name}.txt`]: `files of ${name}\n`, 'marker.txt': `files of ${name}\n` };
  const push = await lambda.push(name, fixture('python-probe'), { files });
  if (push.code !== 0) throw new Error(push.stderr);
}

async function get(pathname: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const response = await lambda.fetch(pathname, init);
  return { status: response.status, body: await response.json() };
}

async function inspect(id: string, format: string): Promise<string> {
  return (await command('docker', ['inspect', id, '--format', format])).stdout.trim();
}

function withoutInstanceIds(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => name !== 'HOSTNAME' && name !== 'AWS_LAMBDA_LOG_STREAM_NAME'));
}

async function logOf(name: string): Promise<string[]> {
  const response = await lambda.api(`/api/v1/functions/${name}/logs`);
  return (await response.text())
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { text: string }).text);
}

test.serial('an idle python3 function answers its first request from a cell, with its requirements, files and env as in its own container', async (t) => {
  await deploy('pya');
  const [classic] = await instancesOf('pya');
  t.is(classic.cell, '', 'the deploy started a classic container');
  const classicEnv = (await get('/fn/pya/env')).body.env as Record<string, string>;
  const classicFiles = (await get('/fn/pya/files')).body;

  const before = await idleWithFullPool('pya');
  const answer = await get('/fn/pya/validate', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"Ada","times":"3"}' });
  t.deepEqual(answer.body, { valid: true, greeting: { name: 'Ada', times: 3 } }, "pydantic's compiled core loads in a cell");
  const [instance] = await instancesOf('pya');
  t.true(
    before.some((cell) => cell.id === instance.id),
    'a python3 cell of the pool became the instance',
  );
  t.is(instance.cell, 'python3');
  t.is(await inspect(instance.id, '{{index .Config.Labels "lambda.function"}}'), '', 'a cell carries no function label');
  t.deepEqual((await get('/fn/pya/validate', { method: 'POST', body: '{"times":"x"}', headers: { 'content-type': 'application/json' } })).body, { valid: false, errors: ['name', 'times'] });

  const cellEnv = (await get('/fn/pya/env')).body.env as Record<string, string>;
  t.deepEqual(withoutInstanceIds(cellEnv), withoutInstanceIds(classicEnv), 'the same environment as a classic instance');
  t.is(cellEnv.AWS_LAMBDA_LOG_STREAM_NAME, instance.instance);
  t.false('LAMBDA_CELL' in cellEnv);
  const files = (await get('/fn/pya/files')).body;
  t.deepEqual(files, classicFiles);
  t.is(files.write, 'Read-only file system');
  t.true((files.requirements as string[]).some((name) => name.startsWith('pydantic_core')), JSON.stringify(files));

  // Hardened as any instance: its own read-only task and requirements folders, the host's socket folder, nothing else.
  const host = JSON.parse(await inspect(instance.id, '{{json .HostConfig}}')) as Record<string, any>;
  t.is(host.NetworkMode, 'none');
  t.true(host.ReadonlyRootfs);
  t.deepEqual(host.CapDrop, ['ALL']);
  t.deepEqual(host.SecurityOpt, ['no-new-privileges']);
  t.is(await inspect(instance.id, '{{.Config.User}}'), '10001:10001');
  const id = instance.instance;
  t.deepEqual(
    (host.Binds as string[]).sort(),
    [`${path.join(tasksDir(), id)}:/var/task:ro`, `${path.join(tasksDir(), `${id}.opt-python`)}:/opt/python:ro`, `${path.join(lambda.dataDir, 'data', 'instances', id)}:/run/lambda:ro`].sort(),
  );

  // The platform's lines show the cell's load as the cold start's Init Duration.
  const deadline = Date.now() + 20_000;
  let lines = await logOf('pya');
  while (lines.filter((line) => line.includes('Init Duration')).length < 2 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    lines = await logOf('pya');
  }
  t.is(lines.filter((line) => /^REPORT .*Init Duration: [\d.]+ ms\tStatus: success$/.test(line)).length, 2, lines.join('\n'));

  // The pool is refilled in the background, with new cells only.
  const after = await until('the pool to be refilled', waitingCells, (list) => list.length === CELLS);
  t.false(after.some((cell) => cell.id === instance.id));
});

test.serial("two python3 functions served by cells see neither the other's files nor its env", async (t) => {
  await deploy('pyb');
  await idleWithFullPool('pyb');
  await idleWithFullPool('pya');
  const [a, b] = await Promise.all([get('/fn/pya/look'), get('/fn/pyb/look')]);
  const [instanceA] = await instancesOf('pya');
  const [instanceB] = await instancesOf('pyb');
  t.is(instanceA.cell, 'python3');
  t.is(instanceB.cell, 'python3');
  t.not(instanceA.id, instanceB.id);
  t.deepEqual(a.body.names, ['/var/task/marker-of-pya.txt'], 'only its own files');
  t.deepEqual(b.body.names, ['/var/task/marker-of-pyb.txt']);
  const environsA = (a.body.environs as string[]).join('\n');
  const environsB = (b.body.environs as string[]).join('\n');
  t.false(environsA.includes('token-of-pyb'), 'no process it can read carries the other function env');
  t.false(environsB.includes('token-of-pya'));
  const envA = (await get('/fn/pya/env')).body.env as Record<string, string>;
  const envB = (await get('/fn/pyb/env')).body.env as Record<string, string>;
  t.is(envA.TOKEN, 'token-of-pya');
  t.is(envB.TOKEN, 'token-of-pyb');
  const secret = new InstanceClients(Buffer.from(fs.readFileSync(path.join(lambda.dataDir, 'data', 'instance-key'), 'utf8').trim(), 'hex')).secretOf(instanceA.instance);
  t.false(environsA.includes(secret), 'the cell secret is in no environment block');
});

test.serial('a public request with init headers, even with the right cell secret, cannot re-init a python3 cell', async (t) => {
  await idleWithFullPool('pya');
  await get('/fn/pya/env');
  const [instance] = await instancesOf('pya');
  t.is(instance.cell, 'python3');
  const secret = new InstanceClients(Buffer.from(fs.readFileSync(path.join(lambda.dataDir, 'data', 'instance-key'), 'utf8').trim(), 'hex')).secretOf(instance.instance);
  const hijack = JSON.stringify({ env: { AWS_LAMBDA_FUNCTION_NAME: 'hijacked', LAMBDA_HANDLER: 'evil.handler', LAMBDA_TASK_ROOT: '/tmp' } });
  const attempts: Record<string, string>[] = [
    { 'x-lambda-internal-invoke': 'init', 'x-lambda-internal-secret': secret },
    { 'X-Lambda-Internal-Invoke': 'init', 'X-LAMBDA-INTERNAL-SECRET': secret },
  ];
  for (const headers of attempts) {
    const response = await get('/fn/pya/', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: hijack });
    t.is(response.status, 200);
    t.is(response.body.env.AWS_LAMBDA_FUNCTION_NAME, 'pya', 'the handler answered it as an ordinary request');
  }
  const env = (await get('/fn/pya/env')).body.env as Record<string, string>;
  t.is(env.LAMBDA_HANDLER, 'app.handler');
  t.deepEqual(
    (await instancesOf('pya')).map((c) => c.id),
    [instance.id],
    'the same instance serves, untouched',
  );
  // Once it stops, its task and requirements folders go with it.
  await until('pya to stop', () => instancesOf('pya'), (list) => list.length === 0);
  await until('its folders to go', async () => fs.readdirSync(tasksDir()).filter((entry) => entry.startsWith(instance.instance)), (left) => left.length === 0);
  t.false((await containers()).some((c) => c.id === instance.id), 'the cell is gone, never back in the pool');
});

test.serial('manylinux system libraries load in a python3 cell', async (t) => {
  const push = await lambda.push('pymany', fixture('python-manylinux'));
  t.is(push.code, 0, push.stderr);
  await idleWithFullPool('pymany');
  const answer = await get('/fn/pymany/');
  t.deepEqual(answer.body, { missing: {} });
  t.is((await instancesOf('pymany'))[0]?.cell, 'python3');
});

test.serial('a python3 version setting a locale variable (read at the interpreter start), or with less than 128Mi, boots its own container', async (t) => {
  await deploy('pylocale', { LC_ALL: 'C.UTF-8' });
  await deploy('pysmall', {}, 'memory: 96Mi\n');
  const cells = await idleWithFullPool('pylocale');
  await idleWithFullPool('pysmall');
  t.is((await get('/fn/pylocale/env')).body.env.LC_ALL, 'C.UTF-8');
  t.is((await get('/fn/pysmall/env')).body.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, '96');
  for (const fn of ['pylocale', 'pysmall']) {
    const [instance] = await instancesOf(fn);
    t.is(instance.cell, '', `${fn}: a classic container`);
  }
  t.deepEqual((await waitingCells()).map((c) => c.id).sort(), cells.map((c) => c.id).sort(), 'no cell was used');
});

test.serial('after SIGKILL and a restart an instance made from a python3 cell is adopted with its requirements; waiting cells are removed', async (t) => {
  await idleWithFullPool('pya');
  await get('/fn/pya/env');
  const [specialised] = await instancesOf('pya');
  t.is(specialised.cell, 'python3');
  const waiting = await until('the pool to be refilled', waitingCells, (list) => list.length === CELLS);
  await lambda.restart('SIGKILL');
  const after = await containers();
  for (const cell of waiting) t.false(after.some((c) => c.id === cell.id), 'waiting cells of the killed server were removed');
  t.true(after.some((c) => c.id === specialised.id), 'the instance pya was served by is adopted');
  const tasks = fs.readdirSync(tasksDir());
  for (const cell of waiting) t.false(tasks.some((entry) => entry.startsWith(cell.instance)), 'no folder is left of a removed cell');
  t.true(tasks.includes(`${specialised.instance}.opt-python`), 'the adopted instance keeps its requirements folder');
  const answer = await get('/fn/pya/validate', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"Grace"}' });
  t.deepEqual(answer.body, { valid: true, greeting: { name: 'Grace', times: 1 } });
  t.deepEqual(
    (await instancesOf('pya')).map((c) => c.id),
    [specialised.id],
  );
});
