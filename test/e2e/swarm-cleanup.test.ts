// End to end, what a function's link leaves on a swarm: a function with the longest name runs there, and deleting it
// removes its relay, network, secrets, gateway folder and certificate; a first deploy that fails leaves none of them;
// a server started again sweeps what an earlier one left for functions that are gone, and secrets no service uses;
// and a data folder restored without its authority gets relays the new authority signed.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { example, type Lambda } from '../helpers/lambda.js';
import { instancesOf, startSwarmLambda, type Swarm } from '../helpers/swarm.js';
import { linkFolder } from '../../server/engine/swarm/gateway.js';

let swarm: Swarm | undefined;
let lambda: Lambda | undefined;
let destroy: (() => Promise<void>) | undefined;
const manifest = 'runtime: node20\nhandler: index.handler\ntimeout: 10s\nmemory: 128Mi\nidleTimeout: 3s\n';
/** The longest name a function may have. */
const LONG = `long-${'n'.repeat(57)}e`;

test.before(async () => {
  ({ swarm, lambda, destroy } = await startSwarmLambda());
});

test.after.always(async () => {
  await destroy?.();
});

/** The manager's `docker <kind> ls` names carrying every one of `labels`. */
async function named(kind: 'service' | 'network' | 'secret' | 'config', labels: string[]): Promise<string[]> {
  const filters = labels.flatMap((label) => ['--filter', `label=${label}`]);
  const out = await swarm!.docker(swarm!.manager, [kind, 'ls', ...filters, '--format', '{{.Name}}']);
  return out.split('\n').filter(Boolean).sort();
}

/** What the swarm and the data folder hold of `fn`'s link. */
async function linkOf(fn: string): Promise<Record<string, string[] | boolean>> {
  const data = path.join(lambda!.dataDir, 'data');
  return {
    relay: await named('service', [`lambda.function=${fn}`, 'lambda.link=relay']),
    network: await named('network', [`lambda.function=${fn}`, 'lambda.link=network']),
    secrets: await named('secret', [`lambda.function=${fn}`]),
    folder: fs.existsSync(path.join(data, 'links', linkFolder(fn))),
    certificate: fs.existsSync(path.join(data, 'swarm', 'relays', `${fn}.pem`)),
  };
}

const NOTHING = { relay: [], network: [], secrets: [], folder: false, certificate: false };

test.serial('a function with a 63-character name runs on the swarm; deleting it removes its whole link', async (t) => {
  t.timeout(600_000);
  t.is(LONG.length, 63);
  const push = await lambda!.push(LONG, example('greet'), { files: { 'lambda.yaml': manifest } });
  t.is(push.code, 0, `${push.stderr}\n${lambda!.output()}`);
  const answer = await lambda!.fetch(`/fn/${LONG}/?name=long`);
  t.is(answer.status, 200, lambda!.output());
  t.deepEqual(await answer.json(), { message: 'Hello, long!' });
  const made = await linkOf(LONG);
  t.is((made.relay as string[]).length, 1);
  t.is((made.network as string[]).length, 1);
  t.is((made.secrets as string[]).length, 2, 'the relay\'s certificate and key');
  t.true(made.folder && made.certificate);

  const deleted = await lambda!.api(`/api/v1/functions/${LONG}`, { method: 'DELETE' });
  t.is(deleted.status, 200, lambda!.output());
  t.deepEqual(await linkOf(LONG), NOTHING);
  t.deepEqual(await instancesOf(swarm!, LONG), []);
});

test.serial('a first deploy whose instance fails leaves no link behind', async (t) => {
  t.timeout(600_000);
  // The instance ends at once on the swarm (only its tasks have LAMBDA_INSTANCE_ID), after its link was made.
  const crashes = "if (process.env.LAMBDA_INSTANCE_ID) process.exit(3);\nexport const handler = async () => ({ never: true });\n";
  const push = await lambda!.push('crashes', example('greet'), { files: { 'lambda.yaml': manifest, 'index.js': crashes } });
  t.not(push.code, 0, lambda!.output());
  t.regex(lambda!.output(), /Deploy of crashes .* failed/);
  t.deepEqual(await linkOf('crashes'), NOTHING);
});

test.serial('a server started again sweeps the links of functions that are gone and the secrets no service uses; a live function keeps its link', async (t) => {
  t.timeout(600_000);
  const s = swarm!;
  const push = await lambda!.push('kept', example('greet'), { files: { 'lambda.yaml': manifest } });
  t.is(push.code, 0, push.stderr);
  t.is((await lambda!.fetch('/fn/kept/')).status, 200);
  const kept = await linkOf('kept');

  // What a server that died mid-way would leave: the link of a function the store no longer has, and an
  // instance's secret whose service was never made.
  const server = lambda!.serverId();
  const ours = (part: string) => ['--label', `lambda.server=${server}`, '--label', `lambda.link=${part}`, '--label', 'lambda.function=ghost'];
  await s.docker(s.manager, ['network', 'create', '--driver', 'overlay', '--internal', ...ours('network'), 'lambda-fn-ghost']);
  await s.docker(s.manager, ['secret', 'create', ...ours('relay-secret'), 'lambda-relay-ghost-0000-pem', '-'], { input: 'x' });
  await s.docker(s.manager, ['secret', 'create', '--label', `lambda.server=${server}`, '--label', 'lambda.instance=0123456789ab', 'lambda-instance-0123456789ab', '-'], { input: 'x' });
  // Another installation's secret on the same swarm is not this server's to remove.
  await s.docker(s.manager, ['secret', 'create', '--label', 'lambda.server=someone-else', 'someone-elses', '-'], { input: 'x' });
  const data = path.join(lambda!.dataDir, 'data');
  fs.mkdirSync(path.join(data, 'links', 'ghost'), { recursive: true });
  fs.writeFileSync(path.join(data, 'swarm', 'relays', 'ghost.pem'), 'x');

  await lambda!.restart('SIGKILL');
  t.deepEqual(await linkOf('ghost'), NOTHING);
  t.deepEqual(await named('secret', [`lambda.server=${server}`, 'lambda.instance=0123456789ab']), []);
  t.deepEqual(await named('secret', ['lambda.server=someone-else']), ['someone-elses']);
  t.deepEqual(await linkOf('kept'), kept);
  t.is((await lambda!.fetch('/fn/kept/?name=again')).status, 200, lambda!.output());
});

test.serial('a data folder restored without its authority gets a relay the new authority signed, and the function answers', async (t) => {
  t.timeout(600_000);
  const fingerprint = async () => {
    const [relay] = await named('service', ['lambda.function=kept', 'lambda.link=relay']);
    return (await swarm!.docker(swarm!.manager, ['service', 'inspect', relay, '--format', '{{index .Spec.Labels "lambda.authority"}}'])).trim();
  };
  const before = await fingerprint();
  const secretsBefore = (await linkOf('kept')).secrets;
  t.regex(before, /^[0-9a-f]{16}$/);
  await lambda!.stop();
  fs.rmSync(path.join(lambda!.dataDir, 'data', 'swarm', 'authority'), { recursive: true });
  await lambda!.restart('SIGTERM');
  const answer = await lambda!.fetch('/fn/kept/?name=new');
  t.is(answer.status, 200, lambda!.output());
  t.deepEqual(await answer.json(), { message: 'Hello, new!' });
  const after = await fingerprint();
  t.regex(after, /^[0-9a-f]{16}$/);
  t.not(after, before);
  const secretsAfter = (await linkOf('kept')).secrets as string[];
  t.is(secretsAfter.length, 2, 'the replaced relay\'s secrets are gone');
  t.deepEqual(secretsAfter.filter((name) => (secretsBefore as string[]).includes(name)), []);
});
