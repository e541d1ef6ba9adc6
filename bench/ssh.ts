// `node --import tsx bench/ssh.ts`: what SSH adds. The time of `ssh lambda@host list` against a refused command (the
// SSH handshake and login alone) and the same verb through the REST API, and `git push` to live over SSH vs HTTP.
// Loopback only; bounded loops; the server, its containers and data are removed at the end.
import fs from 'node:fs';
import path from 'node:path';
import { command, example, requireDocker, startLambda } from '../test/helpers/lambda.js';

const RUNS = 15;
const PUSHES = 3;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

await requireDocker();
const lambda = await startLambda({ LAMBDA_CELLS: '0' });
try {
  const key = path.join(lambda.dataDir, 'bench-key');
  await command('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  if ((await lambda.cli(['keys', 'add', `${key}.pub`])).code !== 0) throw new Error('keys add failed');
  const options = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-i', key];
  const ssh = (remote: string) => command('ssh', [...options, '-p', String(lambda.sshPort), 'lambda@127.0.0.1', remote]);
  if ((await lambda.push('greet', example('greet'))).code !== 0) throw new Error('first push failed');

  const refused: number[] = [];
  const listed: number[] = [];
  const rest: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    refused.push(await timed(() => ssh('nothing')));
    listed.push(await timed(() => ssh('list')));
    rest.push(await timed(() => lambda.api('/api/v1/functions').then((res) => res.text())));
  }

  const pushOver = async (remote: string, env: Record<string, string>, round: number) => {
    const work = fs.mkdtempSync(path.join(lambda.dataDir, 'push-'));
    fs.cpSync(example('greet'), work, { recursive: true });
    fs.writeFileSync(path.join(work, 'round.txt'), `${remote} ${round}\n`);
    const git = (args: string[]) => command('git', args, { cwd: work, env });
    await git(['init', '-q', '-b', 'main']);
    await git(['add', '-A']);
    await git(['-c', 'user.name=bench', '-c', 'user.email=bench@lambda.local', 'commit', '-qm', 'bench']);
    const ms = await timed(async () => {
      const pushed = await git(['push', remote, 'main', '--force']);
      if (pushed.code !== 0) throw new Error(pushed.stderr);
    });
    fs.rmSync(work, { recursive: true, force: true });
    return ms;
  };
  const overSsh: number[] = [];
  const overHttp: number[] = [];
  for (let i = 0; i < PUSHES; i++) {
    overHttp.push(await pushOver(`http://lambda:${lambda.key}@127.0.0.1:${lambda.port}/git/greet.git`, {}, i));
    overSsh.push(await pushOver(`ssh://lambda@127.0.0.1:${lambda.sshPort}/greet.git`, { GIT_SSH_COMMAND: ['ssh', ...options].join(' ') }, i));
  }
  const show = (values: number[]) => `${median(values).toFixed(0)} ms (min ${Math.min(...values).toFixed(0)})`;
  console.log(`ssh refused command (handshake + login): ${show(refused)}`);
  console.log(`ssh list:                               ${show(listed)}`);
  console.log(`REST GET /api/v1/functions:             ${show(rest)}`);
  console.log(`git push to live over HTTP:             ${show(overHttp)}`);
  console.log(`git push to live over SSH:              ${show(overSsh)}`);
} finally {
  await lambda.destroy();
}
