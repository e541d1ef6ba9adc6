// Unknown verbs are answered with the near verb, Lambda's word for a Heroku or Dokku verb, or where the list is.
import { Readable } from 'node:stream';
import test from 'ava';
import type { Io } from '../io.js';
import { run } from '../main.js';
import { unknownVerbMessage } from './unknown.js';

async function lambda(argv: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: { write: (text: string) => ((stdout += text), true) },
    stderr: { write: (text: string) => ((stderr += text), true) },
    stdin: Readable.from([]),
    env: { LAMBDA_URL: 'http://127.0.0.1:9', LAMBDA_API_KEY: 'k', LAMBDA_CONFIG: '/nonexistent/config.json' },
  };
  return { status: await run(argv, io), stdout, stderr };
}

const answers = test.macro({
  async exec(t, argv: string[], stderr: string) {
    t.deepEqual(await lambda(argv), { status: 2, stdout: '', stderr: ` !     ${stderr}\n` });
  },
  title: (label = '') => `lambda ${label}`,
});

test('foo', answers, ['foo'], "unknown command 'foo' (see lambda --help)");
test('deplyo', answers, ['deplyo'], "unknown command 'deplyo'; did you mean 'deploy'?");
test('deplyo --help: the suggestion, not the whole help', answers, ['deplyo', '--help'], "unknown command 'deplyo'; did you mean 'deploy'?");
test('foo -h', answers, ['foo', '-h'], "unknown command 'foo' (see lambda --help)");
test('config', answers, ['config'], "unknown command 'config' (Heroku's config is `lambda env`)");
test('config:set', answers, ['config:set', 'A=1'], "unknown command 'config:set' (Heroku's config is `lambda env`)");
test('apps', answers, ['apps'], "unknown command 'apps' (Heroku's apps are functions here: `lambda list`)");
test('ps', answers, ['ps'], "unknown command 'ps' (Heroku's ps is `lambda list`: instances start and stop by themselves)");
test('scale', answers, ['scale', 'web=2'], "unknown command 'scale' (instances scale by themselves: set minInstances and maxInstances in lambda.yaml)");

test('--json: one JSON line', async (t) => {
  const result = await lambda(['--json', 'ps']);
  t.is(result.status, 2);
  t.deepEqual(JSON.parse(result.stderr), { error: { code: null, message: "unknown command 'ps' (Heroku's ps is `lambda list`: instances start and stop by themselves)" } });
});

test('known verbs and help are not caught', async (t) => {
  t.is((await lambda(['--help'])).status, 0);
  t.is((await lambda(['help', 'deploy'])).status, 0);
  t.is((await lambda(['deploy', '--help'])).status, 0);
});

test('what the user typed is shown without its control characters', (t) => {
  t.is(unknownVerbMessage('a\x1b[2Jb', ['deploy'], 'lambda --help'), "unknown command 'a?[2Jb' (see lambda --help)");
});
