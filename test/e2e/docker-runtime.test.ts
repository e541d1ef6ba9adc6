// End to end: runtime docker builds the repository's own Dockerfile with no network, FROM the platform's
// base images only, and its image serves the runtime protocol (examples/docker-python: its own asyncio server).
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { example, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;

test.before(async () => {
  await requireDocker();
  // Short enough for the test of a build that never ends, long enough for the others on a busy machine.
  lambda = await startLambda({ LAMBDA_DOCKER_BUILD_TIMEOUT: '40s', LAMBDA_DOCKER_BUILD_MEMORY: '256Mi' });
});

test.after.always(async () => {
  await lambda?.destroy();
});

async function waitForLog(name: string, text: string): Promise<string[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const response = await lambda.api(`/api/v1/functions/${name}/logs`);
    const texts = (await response.text()).split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { text: string }).text);
    if (texts.includes(text)) return texts;
    if (Date.now() > deadline) throw new Error(`"${text}" not in the log in time; it ends with:\n${texts.slice(-10).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test.serial('examples/docker-python: its Dockerfile is built FROM lambda/python3 and its own server answers HTTP, invokes and logs', async (t) => {
  const push = await lambda.push('dockpy', example('docker-python'));
  t.is(push.code, 0, push.stderr);
  t.regex(push.stderr, /Reading lambda\.yaml \(runtime docker\)/);
  t.regex(push.stderr, /FROM lambda\/python3/);

  const http = await lambda.fetch('/fn/dockpy/hello?name=Ada');
  t.is(http.status, 200);
  t.deepEqual(await http.json(), { message: 'Howdy, Ada!', runtime: 'docker', version: '1' });

  const invoked = await lambda.cli(['invoke', 'dockpy', '--data', '{"name":"Grace"}']);
  t.is(invoked.code, 0, invoked.stderr);
  t.deepEqual(JSON.parse(invoked.stdout), { message: 'Howdy, Grace!', runtime: 'docker', version: '1' });

  const texts = await waitForLog('dockpy', 'POST / for Grace');
  t.true(texts.includes('GET /hello for Ada'));
  // Its START/END/REPORT records are in their exact form, once per request sent: kept as platform lines.
  const entries = (await (await lambda.api('/api/v1/functions/dockpy/logs')).text())
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { stream: string; text: string });
  t.true(entries.some((entry) => entry.stream === 'platform' && /^REPORT RequestId: \S+\tDuration: [\d.]+ ms\t.*Status: success$/.test(entry.text)), JSON.stringify(entries));
  t.false(entries.some((entry) => entry.stream === 'out' && /^(START|END|REPORT) RequestId/.test(entry.text)), JSON.stringify(entries));

  // The instance runs hardened like any other: no network, read-only root, uid 10001.
  const [container] = await lambda.containers('dockpy');
  t.truthy(container);
  const { stdout } = await promisify(execFile)('docker', ['inspect', '--format', '{{.HostConfig.NetworkMode}} {{.HostConfig.ReadonlyRootfs}} {{.Config.User}}', container]);
  t.is(stdout.trim(), 'none true 10001:10001');
  // Whatever HEALTHCHECK the image has, the engine runs none in the instance.
  const health = await promisify(execFile)('docker', ['inspect', '--format', '{{json .Config.Healthcheck}}', container]);
  t.deepEqual(JSON.parse(health.stdout) as unknown, { Test: ['NONE'] });
});

test.serial('a Dockerfile build has no network interface but loopback', async (t) => {
  const dockerfile = [
    'FROM lambda/python3',
    'RUN ["python3", "-c", "import socket, sys; names = [n for _, n in socket.if_nameindex()]; print(names); sys.exit(0 if names == [\'lo\'] else 1)"]',
    'COPY server.py /app/server.py',
    'CMD ["python3", "-I", "-B", "/app/server.py"]',
  ].join('\n');
  const push = await lambda.push('docknet', example('docker-python'), { files: { Dockerfile: `${dockerfile}\n` } });
  t.is(push.code, 0, push.stderr);
  t.is((await lambda.fetch('/fn/docknet/?name=x')).status, 200);
});

const refused = test.macro({
  async exec(t, files: Record<string, string>, expected: RegExp) {
    const before = await lambda.api('/api/v1/functions/dockbad');
    const push = await lambda.push('dockbad', example('docker-python'), { files });
    t.not(push.code, 0);
    t.regex(push.stderr, expected);
    // Nothing was deployed by the refused push.
    const after = await lambda.api('/api/v1/functions/dockbad');
    t.is(after.status, before.status);
  },
  title: (label = '') => `a hostile Dockerfile is refused: ${label}`,
});

test.serial('FROM another image on this engine', refused, { Dockerfile: 'FROM lambda/base-node20:0123456789ab\nCMD ["node"]\n' }, /Dockerfile line 1: FROM "lambda\/base-node20:0123456789ab" is not available/);
test.serial('FROM a registry image', refused, { Dockerfile: '# comment\nFROM  busybox:latest\n' }, /Dockerfile line 2: FROM "busybox:latest" is not available: builds have no registry/);
test.serial('FROM a build argument', refused, { Dockerfile: 'ARG IMAGE=lambda/python3\nFROM $IMAGE\n' }, /Dockerfile line 1: ARG before FROM is not allowed/);
test.serial('FROM a stage argument', refused, { Dockerfile: 'FROM lambda/python3\nARG IMAGE=lambda/python3\nFROM $IMAGE\n' }, /Dockerfile line 3: FROM must name an image, not a variable/);
test.serial('COPY --from another image', refused, { Dockerfile: 'FROM lambda/python3\nCOPY --from=lambda/dockpy:latest \\\n  /var/task /stolen\n' }, /Dockerfile line 2: COPY --from may name an earlier stage only/);
test.serial('an empty Dockerfile', refused, { Dockerfile: '\n' }, /Dockerfile has no FROM line/);

test.serial('a Dockerfile that is a link to a host file, and none at all, are refused', async (t) => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-dockerfile-'));
  try {
    fs.cpSync(example('docker-python'), work, { recursive: true });
    fs.rmSync(path.join(work, 'Dockerfile'));
    fs.symlinkSync('/etc/passwd', path.join(work, 'Dockerfile'));
    const link = await lambda.push('docklink', work);
    t.not(link.code, 0);
    t.regex(link.stderr, /Dockerfile must be a regular file, not a link or a folder/);
    fs.rmSync(path.join(work, 'Dockerfile'));
    const none = await lambda.push('docklink', work);
    t.not(none.code, 0);
    t.regex(none.stderr, /runtime docker needs a Dockerfile at the repository root/);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test.serial('a Dockerfile build that never ends is cancelled at the time limit, and one that eats memory is stopped', async (t) => {
  const marker = `sleep-${process.pid}-${Date.now()}`;
  const endless = `FROM lambda/python3\nRUN ["python3", "-c", "import time; time.sleep(600)  # ${marker}"]\n`;
  const push = await lambda.push('dockslow', example('docker-python'), { files: { Dockerfile: endless } });
  t.not(push.code, 0);
  t.regex(push.stderr, /the image build took longer than 40 s/);
  // The engine cancelled the build: its step's container does not go on running.
  const deadline = Date.now() + 20_000;
  let running = true;
  while (running && Date.now() < deadline) {
    const { stdout } = await promisify(execFile)('docker', ['ps', '--no-trunc', '--format', '{{.Command}}']);
    running = stdout.includes(marker);
    if (running) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  t.false(running, 'the build step still runs');

  const hungry = 'FROM lambda/python3\nRUN ["python3", "-c", "b = bytearray(600 * 1024 * 1024); print(len(b))"]\n';
  const eaten = await lambda.push('dockhungry', example('docker-python'), { files: { Dockerfile: hungry } });
  t.not(eaten.code, 0);
  t.regex(eaten.stderr, /MemoryError|returned a non-zero code: (137|1)/);
});
