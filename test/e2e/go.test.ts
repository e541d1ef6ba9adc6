// End to end: the go runtime. hello.go (no go.mod) answers HTTP and runs on a cron schedule; a program that exits 1
// is a 502 with its stderr in the log; one over its timeout is a 504 and the next call gets a fresh instance; a
// vendored module builds; a compile error rejects the push with file:line while the live version keeps serving;
// attacks: a module that wants the network, a link to a host file, go:generate and cgo do nothing; a program that
// leaves a child behind in a session of its own, call after call, neither fills the instance nor leaves zombies.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda();
});

test.after.always(async () => {
  await lambda?.destroy();
});

async function logLines(name: string): Promise<string[]> {
  const response = await lambda.api(`/api/v1/functions/${name}/logs?tail=0`);
  return (await response.text()).split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { text: string }).text);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The processes of the go-setsid fixture's container but the one listing them: names, and zombies said so. */
async function processes(name: string): Promise<string[]> {
  const listed = await (await lambda.fetch(`/fn/${name}/?ps`)).text();
  return listed.split('\n').filter(Boolean).map((line) => line.replace(/ Z$/, ' (zombie)').replace(/ [A-Z]$/, ''));
}

test.serial('hello.go is deployed by git push and answers over HTTP, its invocations logged as START/END/REPORT', async (t) => {
  const push = await lambda.push('gohello', fixture('go-hello'));
  t.is(push.code, 0, push.stderr);
  t.regex(push.stderr, /Reading lambda\.yaml \(runtime go\)/);
  t.regex(push.stderr, /Compiling with go1\.\d+/);
  const answer = await lambda.fetch('/fn/gohello/');
  t.is(answer.status, 200);
  t.is(answer.headers.get('content-type'), 'text/plain; charset=utf-8');
  t.is(await answer.text(), 'Hello, World!\n');
  const invoked = await lambda.api('/api/v1/functions/gohello/invoke', { method: 'POST', body: '{}' });
  t.is(invoked.status, 200);
  t.is(await invoked.json(), 'Hello, World!\n');
  const lines = await until('the REPORT lines', async () => {
    const all = await logLines('gohello');
    return all.filter((line) => line.startsWith('REPORT RequestId: ')).length >= 2 ? all : undefined;
  });
  t.true(lines.some((line) => /^START RequestId: \S+ Version: 1$/.test(line)), lines.join('\n'));
  t.true(lines.some((line) => /^REPORT RequestId: \S+\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 256 MB\tMax Memory Used: \d+ MB\tStatus: success$/.test(line)), lines.join('\n'));
});

test.serial('hello.go runs on a cron schedule', async (t) => {
  const push = await lambda.push('gocron', fixture('go-hello'), { files: { 'lambda.yaml': 'runtime: go\nschedules:\n  - cron: "*/1 * * * * *"\n' } });
  t.is(push.code, 0, push.stderr);
  const lines = await until('a scheduled run', async () => {
    const all = await logLines('gocron');
    const fired = all.findIndex((line) => /^\[lambda\] schedule \S+ \(cron "\*\/1 \* \* \* \* \*"\) fired for /.test(line));
    return fired >= 0 && all.slice(fired).some((line) => /^REPORT RequestId: .*\tStatus: success$/.test(line)) ? all : undefined;
  });
  t.true(lines.some((line) => /^START RequestId: \S+ Version: 1$/.test(line)), lines.join('\n'));
});

test.serial('a program that exits 1 is a 502 over HTTP, a function error when invoked, and its stderr is in its log', async (t) => {
  const push = await lambda.push('goexit', fixture('go-exit'));
  t.is(push.code, 0, push.stderr);
  const answer = await lambda.fetch('/fn/goexit/');
  t.is(answer.status, 502);
  t.like(await answer.json(), { message: 'Internal Server Error' });
  const invoked = await lambda.api('/api/v1/functions/goexit/invoke', { method: 'POST', body: '{}' });
  t.is(invoked.status, 502);
  const body = (await invoked.json()) as { error: { code: string; message: string; details: { errorType: string; errorMessage: string } } };
  t.is(body.error.code, 'LAMBDA_ERR_FUNCTION_ERROR');
  t.regex(body.error.message, /Runtime\.ExitError.*exit status 1/);
  const logs = await lambda.cli(['logs', 'goexit']);
  t.is(logs.code, 0, logs.stderr);
  t.regex(logs.stdout, /go-exit: the database is gone/);
  t.regex(logs.stdout, /REPORT RequestId: .*Status: error/);
});

test.serial('a program over its timeout is a 504, and the next call gets a fresh instance', async (t) => {
  const push = await lambda.push('gosleep', fixture('go-sleep'));
  t.is(push.code, 0, push.stderr);
  const first = await lambda.fetch('/fn/gosleep/');
  t.is(first.status, 200);
  const before = await first.text();
  const slow = await lambda.fetch('/fn/gosleep/?sleep');
  t.is(slow.status, 504);
  const after = await lambda.fetch('/fn/gosleep/');
  t.is(after.status, 200);
  t.not(await after.text(), before, 'another container (host name) serves after the timeout');
  const lines = await until('the timeout notice', async () => {
    const all = await logLines('gosleep');
    return all.some((line) => / Task timed out after 1\.00 seconds$/.test(line)) ? all : undefined;
  });
  t.true(lines.some((line) => /^REPORT RequestId: .*Status: timeout$/.test(line)), lines.join('\n'));
});

test.serial('a module with a vendored dependency builds without network; it sees its env and AWS_* variables', async (t) => {
  const push = await lambda.push('govendor', fixture('go-vendored'));
  t.is(push.code, 0, push.stderr);
  t.regex(push.stderr, /dependencies from vendor\//);
  const answer = await lambda.fetch('/fn/govendor/?name=Gopher');
  t.is(answer.status, 200);
  t.is(answer.headers.get('content-type'), 'application/json');
  t.deepEqual(await answer.json(), { message: 'Hello, Gopher!', region: 'us-east-1', color: 'teal' });
  const invoked = await lambda.api('/api/v1/functions/govendor/invoke', { method: 'POST', body: '{"name":"Ken"}' });
  t.deepEqual(await invoked.json(), { message: 'Hello, Ken!', region: 'us-east-1', color: 'teal' });
});

test.serial("a function's Go build cache is reused by its next push, never by another function's, and removed with it", async (t) => {
  const cacheOf = (fn: string) => path.join(lambda.dataDir, 'data', 'builds', '.go-cache', `${fn}.tar`);
  const first = await lambda.push('gocache', fixture('go-hello'));
  t.is(first.code, 0, first.stderr);
  t.notRegex(first.stderr, /Reusing this function's Go build cache/);
  t.true(fs.existsSync(cacheOf('gocache')));
  const other = await lambda.push('gocache2', fixture('go-hello'));
  t.notRegex(other.stderr, /Reusing this function's Go build cache/, "another function's build starts from its own (empty) cache");
  const second = await lambda.push('gocache', fixture('go-hello'), { files: { 'hello.go': 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("Hello again") }\n' } });
  t.is(second.code, 0, second.stderr);
  t.regex(second.stderr, /Reusing this function's Go build cache/);
  t.is(await (await lambda.fetch('/fn/gocache/')).text(), 'Hello again\n');
  const deleted = await lambda.cli(['delete', 'gocache', '--yes']);
  t.is(deleted.code, 0, deleted.stderr);
  t.false(fs.existsSync(cacheOf('gocache')));
  t.true(fs.existsSync(cacheOf('gocache2')));
});

test.serial('a compile error rejects the push with file:line, and the live version keeps serving', async (t) => {
  const live = await lambda.push('gobroken', fixture('go-hello'));
  t.is(live.code, 0, live.stderr);
  const push = await lambda.push('gobroken', fixture('go-compile-error'));
  t.not(push.code, 0);
  t.regex(push.stderr, /main\.go:7:14: undefined: undefinedName/);
  t.regex(push.stderr, /go build failed: \.\/main\.go:7:14: undefined: undefinedName \(LAMBDA_ERR_BUILD_FAILED\)/);
  const answer = await lambda.fetch('/fn/gobroken/');
  t.is(await answer.text(), 'Hello, World!\n');
});

test.serial('a repository whose root is not package main is refused: there is nothing to run', async (t) => {
  const push = await lambda.push('golib', fixture('go-not-main'));
  t.not(push.code, 0);
  t.regex(push.stderr, /go build failed: the repository's root is not package main: there is no program to run \(LAMBDA_ERR_BUILD_FAILED\)/);
});

test.serial('attack: a go.mod that needs a download (no vendor/) fails cleanly, with no network', async (t) => {
  const push = await lambda.push('gonet', fixture('go-network'));
  t.not(push.code, 0);
  t.regex(push.stderr, /github\.com\/google\/uuid/);
  t.regex(push.stderr, /GOPROXY=off|module lookup disabled/);
  t.regex(push.stderr, /LAMBDA_ERR_BUILD_FAILED/);
});

test.serial('the Go build runs in the hardened sandbox: uid 10001, no network, read-only root and mount, no capabilities', async (t) => {
  type Seen = { user: string; network: string; readOnly: boolean; capDrop: string[]; binds: string[]; env: string[] };
  const seen = new Map<string, Seen>();
  let done = false;
  const run = promisify(execFile);
  const poll = (async () => {
    while (!done) {
      const { stdout } = await run('docker', ['ps', '-q', '--filter', `label=lambda.server=${lambda.serverId()}`, '--filter', 'label=lambda.sandbox=true']);
      for (const id of stdout.split('\n').filter((line) => line && !seen.has(line))) {
        const inspected = await run('docker', ['inspect', id]).catch(() => undefined);
        if (!inspected) continue;
        const [info] = JSON.parse(inspected.stdout) as { Config: { User: string; Env: string[] }; HostConfig: { NetworkMode: string; ReadonlyRootfs: boolean; CapDrop: string[]; Binds: string[] } }[];
        if (info) seen.set(id, { user: info.Config.User, env: info.Config.Env, network: info.HostConfig.NetworkMode, readOnly: info.HostConfig.ReadonlyRootfs, capDrop: info.HostConfig.CapDrop, binds: info.HostConfig.Binds });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  try {
    const push = await lambda.push('gosandbox', fixture('go-vendored'));
    t.is(push.code, 0, push.stderr);
  } finally {
    done = true;
    await poll;
  }
  t.true(seen.size >= 1, 'the build ran in a sandbox container');
  for (const job of seen.values()) {
    t.is(job.user, '10001:10001');
    t.is(job.network, 'none');
    t.true(job.readOnly);
    t.deepEqual(job.capDrop, ['ALL']);
    t.is(job.binds.length, 1);
    t.regex(job.binds[0] ?? '', /:\/lambda-build:ro$/);
    t.deepEqual(job.env.filter((entry) => !/^(PATH|HOME)=/.test(entry)), []);
  }
});

test.serial('attack: a link to a host file is not read by the build', async (t) => {
  const push = await lambda.push('golink', fixture('go-symlink'));
  t.is(push.code, 0, push.stderr);
  t.regex(push.stderr, /Not read \(only regular files are built\): files\/host\.txt/);
  const answer = await lambda.fetch('/fn/golink/');
  t.is(await answer.text(), 'files/readme.txt: a file of the repository\n');
});

test.serial('attack: go:generate and cgo do nothing at build', async (t) => {
  const marker = '/tmp/lambda-go-generate-marker';
  fs.rmSync(marker, { force: true });
  const push = await lambda.push('gogen', fixture('go-generate'));
  t.is(push.code, 0, push.stderr);
  t.false(fs.existsSync(marker), 'no go:generate line ran on the host');
  const answer = await lambda.fetch('/fn/gogen/');
  t.is(await answer.text(), 'no cgo\n');
});

test.serial('a pushed handler is refused for runtime go, naming the field', async (t) => {
  const push = await lambda.push('gohandler', fixture('go-hello'), { files: { 'lambda.yaml': 'runtime: go\nhandler: main.handler\n' } });
  t.not(push.code, 0);
  t.regex(push.stderr, /handler: is not used by runtime go/);
});

test.serial("stdout over 6 MB is a function error; Lambda's result shape is honoured; a program's leftovers die with its request; no secret in its environment", async (t) => {
  const push = await lambda.push('gomisbehave', fixture('go-misbehave'));
  t.is(push.code, 0, push.stderr);
  const shaped = await lambda.fetch('/fn/gomisbehave/');
  t.is(shaped.status, 201);
  t.is(shaped.headers.get('x-kind'), 'lambda');
  t.deepEqual(shaped.headers.getSetCookie(), ['a=1', 'b=2']);
  t.is(await shaped.text(), 'hi');

  const big = await lambda.fetch('/fn/gomisbehave/?big');
  t.is(big.status, 502);
  const invoked = await lambda.api('/api/v1/functions/gomisbehave/invoke', { method: 'POST', body: '{}' });
  t.is(invoked.status, 200);

  const orphan = await lambda.fetch('/fn/gomisbehave/?orphan');
  t.is(await orphan.text(), 'left one behind\n');
  const [container] = await lambda.containers('gomisbehave');
  t.truthy(container);
  const { stdout } = await promisify(execFile)('docker', ['top', container as string, '-o', 'pid,args']);
  t.notRegex(stdout, /sleeper/, 'the background copy was killed with its request');
  t.regex(stdout, /\/opt\/lambda\/shim/);

  const env = await (await lambda.fetch('/fn/gomisbehave/?env')).text();
  t.regex(env, /\bAWS_LAMBDA_FUNCTION_NAME\b/);
  t.regex(env, /\bAWS_REGION\b/);
  t.notRegex(env, /SECRET/i);
});

test.serial('attack: a child left behind in a session of its own, call after call, is killed and reaped: the function keeps answering', async (t) => {
  const push = await lambda.push('gosetsid', fixture('go-setsid'));
  t.is(push.code, 0, push.stderr);
  // More calls than the instance's process limit (256): every leftover kept, running or a zombie, would fill it.
  const failed: string[] = [];
  for (let call = 0; call < 300; call += 1) {
    const answer = await lambda.fetch('/fn/gosetsid/');
    const text = await answer.text();
    if (answer.status !== 200 || text !== 'left one behind\n') failed.push(`call ${call}: ${answer.status} ${text}`);
  }
  t.deepEqual(failed.slice(0, 3), []);
  t.is((await lambda.containers('gosetsid')).length, 1, 'one instance served every call');
  // Between calls nothing of a program is left: the shim alone, no lingering copy, no zombie (state Z).
  const list = () => processes('gosetsid');
  const alone = await until('a container with the shim alone', async () => {
    const listed = await list();
    return listed.length === 1 ? listed : undefined;
  }, 10_000).catch(list);
  t.deepEqual(alone, ['shim']);
});

test.serial('attack: leftovers that fill half the process limit while another call runs wait for it to end, then die', async (t) => {
  const push = await lambda.push('gocrowd', fixture('go-setsid'));
  t.is(push.code, 0, push.stderr);
  t.deepEqual(await processes('gocrowd'), ['shim']);
  // The instance is never idle while a call is held: leftovers of 17 tasks each would fill 256 within 16 calls.
  const held = lambda.fetch('/fn/gocrowd/?hold').then(async (answer) => `${answer.status} ${await answer.text()}`);
  await until('the held call running', async () => ((await processes('gocrowd')).includes('function') ? true : undefined));
  const failed: string[] = [];
  for (let call = 0; call < 30; call += 1) {
    const answer = await lambda.fetch('/fn/gocrowd/?threads');
    const text = await answer.text();
    if (answer.status !== 200 || text !== 'left one behind\n') failed.push(`call ${call}: ${answer.status} ${text}`);
  }
  t.deepEqual(failed.slice(0, 3), []);
  t.is(await held, '200 held\n');
  t.is((await lambda.containers('gocrowd')).length, 1, 'one instance served every call');
});
