// End to end, the python3 and go runtimes in swarm mode (LAMBDA_ENGINE=swarm) against a swarm of two engines in
// network namespaces: each is deployed by `git push`, answered 200 by an instance whose task runs on the worker (its
// shim dialled the function's relay over TLS), and its output and REPORT lines reach the function's log.
import test from 'ava';
import { fixture, type Lambda } from '../helpers/lambda.js';
import { instancesOf, startSwarmLambda, tasksOf, waitFor, type Swarm } from '../helpers/swarm.js';

let swarm: Swarm | undefined;
let lambda: Lambda | undefined;

let destroy: (() => Promise<void>) | undefined;

test.before(async () => {
  ({ swarm, lambda, destroy } = await startSwarmLambda());
});

test.after.always(async () => {
  await destroy?.();
});

/** The service of `fn`'s one instance. */
async function instanceOf(fn: string): Promise<string> {
  const names = await instancesOf(swarm!, fn);
  if (names.length !== 1) throw new Error(`${fn} has ${names.length} instances`);
  return names[0];
}

/** Its log's texts. */
async function logTexts(fn: string): Promise<string[]> {
  const text = await (await lambda!.api(`/api/v1/functions/${fn}/logs?tail=0`)).text();
  return text.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { text: string }).text);
}

const PYTHON = 'def handler(event, context):\n    name = (event.get("queryStringParameters") or {}).get("name", "World")\n    print(f"greeting {name} from python3")\n    return {"message": f"Hello, {name}!"}\n';
const GO = 'package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\nfunc main() {\n\tfmt.Fprintln(os.Stderr, "greeting from go")\n\tfmt.Println("Hello from go on a swarm")\n}\n';

const cases = [
  { runtime: 'python3', fn: 'pyswarm', dir: 'python-probe', files: { 'app.py': PYTHON, 'lambda.yaml': 'runtime: python3\nhandler: app.handler\ntimeout: 10s\nmemory: 128Mi\nidleTimeout: 5m\n' }, path: '/?name=Swarm', body: 'Hello, Swarm!', line: 'greeting Swarm from python3' },
  { runtime: 'go', fn: 'goswarm', dir: 'go-hello', files: { 'hello.go': GO, 'lambda.yaml': 'runtime: go\ntimeout: 10s\nmemory: 128Mi\nidleTimeout: 5m\n' }, path: '/', body: 'Hello from go on a swarm', line: 'greeting from go' },
] as const;

for (const c of cases) {
  test.serial(`a ${c.runtime} function pushed in swarm mode is answered 200 by an instance on the worker; its output reaches its log`, async (t) => {
    t.timeout(600_000);
    const push = await lambda!.push(c.fn, fixture(c.dir), { files: c.files });
    t.is(push.code, 0, `${push.stderr}\n${lambda!.output()}`);
    const answer = await lambda!.fetch(`/fn/${c.fn}${c.path}`);
    t.is(answer.status, 200, lambda!.output());
    t.true((await answer.text()).includes(c.body));
    const [[node]] = await tasksOf(swarm!, await instanceOf(c.fn));
    t.is(node.index, 1, 'the instance runs on the worker');
    await waitFor(async () => {
      const texts = await logTexts(c.fn);
      return texts.includes(c.line) && texts.some((text) => text.startsWith('REPORT RequestId:'));
    }, 20_000, `${c.fn}'s output and REPORT line in its log`);
  });
}
