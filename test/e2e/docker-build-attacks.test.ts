// End to end: a repository's own Dockerfile (runtime docker) cannot make the engine fetch anything, keep host disk
// through a volume, build from an image it was not given, exhaust the host's processes or disk (also through the
// images of earlier stages), starve other builds of processes, pass as the platform's output or its labels, or land
// in a platform image's repository; and a deleted function leaves none of its files or images behind.
import fs from 'node:fs';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { example, fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

const run = promisify(execFile);
let lambda: Lambda;
let server: http.Server;
let port = 0;
/** Requests that reached the test's HTTP server on 127.0.0.1 (an engine fetching an ADD URL would be one). */
const requests: string[] = [];

test.before(async () => {
  await requireDocker();
  lambda = await startLambda({ LAMBDA_DOCKER_BUILD_MEMORY: '512Mi', LAMBDA_MAX_CODE_SIZE: '64Mi', LAMBDA_DOCKER_BUILD_PIDS: '128' });
  server = http.createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    response.end('the host secret\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as import('node:net').AddressInfo).port;
});

test.after.always(async () => {
  server?.close();
  await lambda?.destroy();
});

const SERVE = 'COPY server.py /app/server.py\nCMD ["python3", "-I", "-B", "/app/server.py"]\n';

function imageOf(stderr: string): string {
  const found = /Building image (\S+) \.\.\./.exec(stderr);
  if (!found) throw new Error(`no image in the push output:\n${stderr}`);
  return found[1];
}

/** Every image (intermediate ones too) whose step ran a command containing `marker`. */
async function imagesRunning(marker: string): Promise<string[]> {
  const { stdout } = await run('docker', ['images', '-aq', '--no-trunc']);
  const ids = [...new Set(stdout.split('\n').filter(Boolean))];
  if (ids.length === 0) return [];
  const { stdout: json } = await run('docker', ['image', 'inspect', ...ids], { maxBuffer: 256 * 1024 * 1024 });
  const infos = JSON.parse(json) as { Id: string; ContainerConfig?: { Cmd?: string[] | null } }[];
  return infos.filter((info) => JSON.stringify(info.ContainerConfig?.Cmd ?? []).includes(marker)).map((info) => info.Id);
}

/** The image and the images it is built on, as the engine knows them. */
async function ancestry(image: string): Promise<string[]> {
  const { stdout } = await run('docker', ['history', '-q', '--no-trunc', image]);
  return stdout.split('\n').filter((id) => id.startsWith('sha256:'));
}

async function imagesOf(repository: string): Promise<string[]> {
  const { stdout } = await run('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}', repository]);
  return stdout.split('\n').filter(Boolean);
}

test.serial('ADD from a loopback URL is refused and the engine fetches nothing', async (t) => {
  const direct = `FROM lambda/python3\nADD http://127.0.0.1:${port}/secret /app/secret\n${SERVE}`;
  const push = await lambda.push('dockfetch', example('docker-python'), { files: { Dockerfile: direct } });
  t.not(push.code, 0);
  t.regex(push.stderr, /Dockerfile line 2: ADD is not allowed: the engine would fetch a URL with the host's network/);
  const variable = `FROM lambda/python3\nARG SOURCE=http://127.0.0.1:${port}/secret\nADD $SOURCE /app/secret\n${SERVE}`;
  const hidden = await lambda.push('dockfetch', example('docker-python'), { files: { Dockerfile: variable } });
  t.not(hidden.code, 0);
  t.regex(hidden.stderr, /Dockerfile line 3: ADD is not allowed/);
  t.deepEqual(requests, []);
  t.is((await lambda.api('/api/v1/functions/dockfetch')).status, 404);
});

test.serial('VOLUME is refused and the function gets no volume', async (t) => {
  const dockerfile = `FROM lambda/python3\nVOLUME /data\n${SERVE}`;
  const push = await lambda.push('dockvolume', example('docker-python'), { files: { Dockerfile: dockerfile } });
  t.not(push.code, 0);
  t.regex(push.stderr, /Dockerfile line 2: VOLUME is not allowed/);
  t.is((await lambda.api('/api/v1/functions/dockvolume')).status, 404);
  for (const id of await lambda.allContainers()) {
    const { stdout } = await run('docker', ['inspect', '--format', '{{range .Mounts}}{{.Type}} {{end}}', id]);
    t.false(stdout.includes('volume'), `container ${id} has a volume`);
  }
});

test.serial("a form feed before a line break does not hide a FROM of another function's image", async (t) => {
  const victim = await lambda.push('dockvictim', example('docker-python'));
  t.is(victim.code, 0, victim.stderr);
  const image = imageOf(victim.stderr);
  const dockerfile = `FROM lambda/python3\nLABEL poc=1 \\\f\nFROM ${image}\nCMD ["python3", "-I", "-B", "/app/server.py"]\n`;
  const push = await lambda.push('dockthief', example('docker-python'), { files: { Dockerfile: dockerfile } });
  t.not(push.code, 0);
  t.regex(push.stderr, /Dockerfile line 2: .*U\+000C/);
  t.is((await lambda.api('/api/v1/functions/dockthief')).status, 404);
});

test.serial('a fork bomb in RUN is bounded by the build pids limit', async (t) => {
  // Up to 1000 children, each waiting for the parent to end; a build that could start them all had no pids limit.
  const bomb = [
    'import os, sys',
    'r, w = os.pipe()',
    'started = 0',
    'for _ in range(1000):',
    '    try:',
    '        pid = os.fork()',
    '    except OSError:',
    '        break',
    '    if pid == 0:',
    '        os.close(w)',
    '        os.read(r, 1)',
    '        os._exit(0)',
    '    started += 1',
    "print('started', started, flush=True)",
    'sys.exit(1 if started >= 1000 else 0)',
    // Never a cached step: the bomb runs on every test run.
    `# ${randomBytes(8).toString('hex')}`,
  ].join('\n');
  const dockerfile = `FROM lambda/python3\nCOPY bomb.py /app/bomb.py\nRUN ["python3", "/app/bomb.py"]\n${SERVE}`;
  const push = await lambda.push('dockbomb', example('docker-python'), { files: { Dockerfile: dockerfile, 'bomb.py': `${bomb}\n` } });
  t.is(push.code, 0, push.stderr);
});

test.serial('a huge sparse file and an image over the code size are refused, leaving nothing on disk', async (t) => {
  const sparse = [
    'FROM lambda/python3',
    `RUN ["python3", "-c", "import os; open('/f1', 'wb').write(os.urandom(20000000))"]`,
    `RUN ["python3", "-c", "open('/big', 'wb').truncate(3 * 1024 ** 3)"]`,
    SERVE,
  ].join('\n');
  const push = await lambda.push('dockbig', example('docker-python'), { files: { Dockerfile: sparse } });
  t.not(push.code, 0);
  t.regex(push.stderr, /File too large/);
  // The step that did succeed left no layer behind (the first id is the base's).
  const made = [...push.stderr.matchAll(/---> ([0-9a-f]{12})\s/g)].map((match) => match[1]);
  t.true(made.length >= 2, push.stderr);
  for (const id of made.slice(1)) await t.throwsAsync(run('docker', ['image', 'inspect', id]), undefined, `step image ${id} was left`);

  const many = `FROM lambda/python3\nRUN ["python3", "-c", "import os; [open('/f%d' % i, 'wb').write(os.urandom(30000000)) for i in range(4)]"]\n${SERVE}`;
  const large = await lambda.push('dockbig', example('docker-python'), { files: { Dockerfile: many } });
  t.not(large.code, 0);
  // Refused once built, or cancelled while it wrote (when the build's watch saw it first).
  t.regex(large.stderr, /(the image adds \d+ MiB to its base|cancelled while building: its steps wrote \d+ MiB), over this server's maximum code size of 64 MiB \(LAMBDA_MAX_CODE_SIZE\)/);
  t.deepEqual(await imagesOf(imageOf(large.stderr).split(':')[0]), []);
  t.is((await lambda.api('/api/v1/functions/dockbig')).status, 404);
  const cells = path.join(lambda.dataDir, 'data', 'cells');
  for (const dir of ['versions', 'staged']) {
    const entries = fs.existsSync(path.join(cells, dir)) ? fs.readdirSync(path.join(cells, dir)) : [];
    t.deepEqual(entries, [], `${dir} is not empty`);
  }
});

test.serial('a function named like a platform image builds into its own repository', async (t) => {
  const before = await imagesOf('lambda/base-python3');
  const push = await lambda.push('base-python3', example('docker-python'));
  t.is(push.code, 0, push.stderr);
  const image = imageOf(push.stderr);
  t.false(image.startsWith('lambda/'), image);
  t.deepEqual(await imagesOf('lambda/base-python3'), before);
  const deleted = await lambda.api('/api/v1/functions/base-python3', { method: 'DELETE' });
  t.is(deleted.status, 200);
  t.deepEqual(await imagesOf('lambda/base-python3'), before);
});

test.serial("a deleted function's image and its files in the cells' folders are removed", async (t) => {
  const push = await lambda.push('dockgone', fixture('echo'));
  t.is(push.code, 0, push.stderr);
  const image = imageOf(push.stderr);
  const { stdout } = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', image]);
  const id = stdout.trim().replace(/^sha256:/, '');
  const versions = path.join(lambda.dataDir, 'data', 'cells', 'versions');
  const deadline = Date.now() + 20_000;
  while (!fs.existsSync(path.join(versions, id)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  t.true(fs.existsSync(path.join(versions, id)), 'the version never ran in a cell');
  const deleted = await lambda.api('/api/v1/functions/dockgone', { method: 'DELETE' });
  t.is(deleted.status, 200);
  t.false(fs.existsSync(path.join(versions, id)));
  t.false(fs.existsSync(path.join(versions, `${id}.json`)));
  const staged = fs.readdirSync(path.join(lambda.dataDir, 'data', 'cells', 'staged'));
  t.deepEqual(staged.filter((entry) => entry.startsWith(id)), []);
  t.deepEqual(await imagesOf(image), []);
});

test.serial("a multi-stage build's earlier stages are counted against the code size and never left on disk", async (t) => {
  // Four 30 MB files, each under the file size limit, in a stage the final image does not build on.
  const big = `big-${randomBytes(6).toString('hex')}`;
  const over = [
    'FROM lambda/python3 AS big',
    `RUN ["python3", "-c", "import os; [open('/f%d' % i, 'wb').write(os.urandom(30000000)) for i in range(4)]; print('${big}')"]`,
    'FROM lambda/python3',
    SERVE,
  ].join('\n');
  const refused = await lambda.push('dockstages', example('docker-python'), { files: { Dockerfile: over } });
  t.not(refused.code, 0, 'a build writing 120 MB in an earlier stage was accepted');
  t.regex(refused.stderr, /(the build wrote \d+ MiB \(\d+ MiB in its other stages\)|cancelled while building: its steps wrote \d+ MiB), over this server's maximum code size of 64 MiB/);
  t.deepEqual(await imagesRunning(big), [], 'the earlier stage was left on disk');

  // Under the limit: the function deploys, and only its final image (and what it builds on) stays.
  const small = `small-${randomBytes(6).toString('hex')}`;
  const fits = [
    'FROM lambda/python3 AS tool',
    `RUN ["python3", "-c", "open('/made', 'w').write('${small}')"]`,
    'FROM lambda/python3',
    'COPY --from=tool /made /app/made',
    `RUN ["python3", "-c", "print('${small}')"]`,
    SERVE,
  ].join('\n');
  const push = await lambda.push('dockstages', example('docker-python'), { files: { Dockerfile: fits } });
  t.is(push.code, 0, push.stderr);
  const image = imageOf(push.stderr);
  const kept = await ancestry(image);
  const left = await imagesRunning(small);
  t.true(left.length >= 1, 'the final stage\'s RUN made no image');
  t.deepEqual(left.filter((id) => !kept.includes(id)), [], 'an earlier stage\'s image was left');
  t.is((await lambda.api('/api/v1/functions/dockstages', { method: 'DELETE' })).status, 200);
  t.deepEqual(await imagesRunning(small), [], 'the deleted function left images behind');
});

test.serial('what a RUN step prints is neither a progress line of the platform nor an image the server removes', async (t) => {
  // An untagged image this server's build did not make, like another function's cached step.
  const bystander = `bystander-${randomBytes(6).toString('hex')}`;
  const context = fs.mkdtempSync(path.join(lambda.dataDir, 'bystander-'));
  fs.writeFileSync(path.join(context, 'Dockerfile'), `FROM lambda/python3\nLABEL test.bystander=${bystander}\n`);
  const { stdout } = await run('docker', ['build', '-q', '--network', 'none', context]);
  const id = stdout.trim();
  t.teardown(() => run('docker', ['rmi', id]).then(() => undefined, () => undefined));
  const short = id.replace(/^sha256:/, '').slice(0, 12);
  const dockerfile = [
    'FROM lambda/python3',
    `RUN ["python3", "-c", "print('Step 3/3 : Deployed. Your access key expired: run lambda login --key NEW'); print(' ---> ${short}'); print('${bystander}'); raise SystemExit(1)"]`,
    SERVE,
  ].join('\n');
  const push = await lambda.push('dockforge', example('docker-python'), { files: { Dockerfile: dockerfile } });
  t.not(push.code, 0);
  t.notRegex(push.stderr, /\[\d+\/\d+\] Deployed/, 'a RUN step\'s output was shown as a build step');
  await t.notThrowsAsync(run('docker', ['image', 'inspect', id]), 'the server removed an image it did not build');
});

test.serial("one build holding every process it may have does not stop another's", async (t) => {
  const marker = `holder-${randomBytes(6).toString('hex')}`;
  // Starts processes until it may start no more, then holds them (the test ends it).
  const holder = [
    'import os, time',
    `# ${marker}`,
    'started = 0',
    'for _ in range(1000):',
    '    try:',
    '        pid = os.fork()',
    '    except OSError:',
    '        break',
    '    if pid == 0:',
    '        time.sleep(120)',
    '        os._exit(0)',
    '    started += 1',
    'time.sleep(120)',
  ].join('\n');
  const hog = lambda.push('dockhog', example('docker-python'), {
    files: { Dockerfile: `FROM lambda/python3\nCOPY hold.py /app/hold.py\nRUN ["python3", "/app/hold.py", "${marker}"]\n${SERVE}`, 'hold.py': `${holder}\n` },
  });
  // One listing with each container's command: containers of other tests come and go between two calls.
  const holding = async (): Promise<string[]> => {
    const { stdout } = await run('docker', ['ps', '--no-trunc', '--format', '{{.ID}}\t{{.Command}}'], { maxBuffer: 64 * 1024 * 1024 });
    return stdout
      .split('\n')
      .filter((line) => line.includes(marker))
      .map((line) => line.split('\t')[0]);
  };
  const full = async (): Promise<boolean> => {
    const [id] = await holding();
    if (!id) return false;
    const { stdout } = await run('docker', ['top', id]).catch(() => ({ stdout: '' }));
    return stdout.split('\n').length > 100;
  };
  const deadline = Date.now() + 120_000;
  while (!(await full()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 500));
  try {
    t.true(await full(), 'the holding build never started its processes');
    const other = await lambda.push('dockother', example('docker-python'), {
      files: { Dockerfile: `FROM lambda/python3\nRUN ["python3", "-c", "import subprocess, sys; subprocess.run([sys.executable, '-c', 'pass'], check=True); print('${marker}-other')"]\n${SERVE}` },
    });
    t.is(other.code, 0, other.stderr);
  } finally {
    for (const id of await holding()) await run('docker', ['kill', id]).catch(() => undefined);
    await hog;
  }
});

test.serial('a Dockerfile may not set the platform\'s labels, written out or through a variable', async (t) => {
  for (const [line, expected] of [
    ['LABEL lambda.instance=c0ffee', /Dockerfile line 2: LABEL may not set lambda\.\* labels/],
    ['LABEL "lambda.server"="x" lambda.managed=true', /Dockerfile line 2: LABEL may not set lambda\.\* labels/],
    ['ENV K=lambda.instance\nLABEL ${K}=c0ffee', /Dockerfile line 3: LABEL may not use variables/],
  ] as const) {
    const push = await lambda.push('docklabel', example('docker-python'), { files: { Dockerfile: `FROM lambda/python3\n${line}\n${SERVE}` } });
    t.not(push.code, 0, line);
    t.regex(push.stderr, expected, line);
  }
  t.is((await lambda.api('/api/v1/functions/docklabel')).status, 404);
});

test.serial("deleting a function right after a deploy removes the previous version's image too", async (t) => {
  // The first version answers /slow after a few seconds, so it is still finishing a request when the second goes live.
  const original = fs.readFileSync(path.join(example('docker-python'), 'server.py'), 'utf8');
  const answering = '            status, payload = answer(method, target, headers, body)\n';
  t.true(original.includes(answering));
  const slow = original.replace(answering, `            if urlsplit(target).path.endswith('/slow'):\n                log.line('slow request started')\n                await asyncio.sleep(8)\n${answering}`);
  const manifest = 'runtime: docker\ntimeout: 30s\nmemory: 128Mi\n';
  const first = await lambda.push('dockswitch', example('docker-python'), { files: { 'server.py': slow, 'lambda.yaml': manifest } });
  t.is(first.code, 0, first.stderr);
  const inFlight = lambda.fetch('/fn/dockswitch/slow');
  const deadline = Date.now() + 20_000;
  const started = async () => (await (await lambda.api('/api/v1/functions/dockswitch/logs')).text()).includes('slow request started');
  while (!(await started()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  t.true(await started(), 'the slow request never reached the first version');
  const second = await lambda.push('dockswitch', example('docker-python'), { files: { 'v2.txt': 'two\n' } });
  t.is(second.code, 0, second.stderr);
  t.not(imageOf(first.stderr), imageOf(second.stderr));
  const deleted = await lambda.api('/api/v1/functions/dockswitch', { method: 'DELETE' });
  t.is(deleted.status, 200);
  t.is((await inFlight).status, 200, 'the request in flight on the first version did not finish');
  t.deepEqual(await imagesOf('lambda-fn/dockswitch'), []);
});

test.serial('a build writing more than the code size is cancelled while it runs, leaving nothing behind', async (t) => {
  // Thirty 30 MB files, each under the file size limit, written slowly: 900 MB if the build ran to its end.
  const marker = `fill-${randomBytes(6).toString('hex')}`;
  const fill = `import os, time\nfor i in range(30):\n    open('/f%d' % i, 'wb').write(os.urandom(30000000))\n    print('wrote', i, flush=True)\n    time.sleep(0.7)\n# ${marker}\n`;
  const dockerfile = `FROM lambda/python3\nCOPY fill.py /app/fill.py\nRUN ["python3", "/app/fill.py", "${marker}"]\n${SERVE}`;
  const push = await lambda.push('dockfill', example('docker-python'), { files: { Dockerfile: dockerfile, 'fill.py': fill } });
  t.not(push.code, 0);
  t.regex(push.stderr, /cancelled while building: its steps wrote \d+ MiB, over this server's maximum code size of 64 MiB \(LAMBDA_MAX_CODE_SIZE\)/);
  t.notRegex(push.stderr, /wrote 29\b/, 'the build ran to its end');
  t.is((await lambda.api('/api/v1/functions/dockfill')).status, 404);
  t.deepEqual(await imagesRunning(marker), [], 'an image of the cancelled build was left');
  const { stdout } = await run('docker', ['ps', '-aq', '--no-trunc', '--filter', `label=lambda.build.fn=${lambda.serverId()}/dockfill`]);
  t.deepEqual(stdout.split('\n').filter(Boolean), [], 'a step container of the cancelled build was left');
});
