// End to end: the start lines say where the server listens, show a generated key once, and on a restart say why not.
import test from 'ava';
import { requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda | undefined;

test.after.always(async () => {
  await lambda?.destroy();
});

/** The key lines follow the listening line a moment later: wait for `text` to be printed (ava's timeout bounds it). */
async function printed(server: Lambda, text: string): Promise<string> {
  while (!server.output().includes(text)) await new Promise((resolve) => setTimeout(resolve, 50));
  return server.output();
}

test('a first start prints the key, a restart says the token exists and how to get a key again', async (t) => {
  await requireDocker();
  // No LAMBDA_API_KEY: the server makes the admin API token itself, as a newcomer's first `npm start` does.
  const started = await startLambda({ LAMBDA_API_KEY: '' });
  lambda = started;
  const first = await printed(started, 'Admin API key (shown once');
  t.regex(first, /Lambda listening on loopback only \(LAMBDA_HOST=127\.0\.0\.1\), port \d+: http:\/\/localhost:\d+/);
  t.regex(first, /SSH listening on loopback only \(LAMBDA_SSH_HOST=127\.0\.0\.1\), port \d+ \(host key SHA256:/);
  t.regex(first, /Admin API key \(shown once, only its hash is stored\):\n\s+lambda_\S+/);

  await started.restart('SIGTERM');
  const again = await printed(started, 'Admin API token:');
  t.false(again.includes('Admin API key (shown once'));
  t.regex(again, /Admin API token: one already exists; its key was shown only at the first start\. Lost it\? Start once with LAMBDA_API_KEY=/);
});
