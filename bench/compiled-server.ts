// What every benchmark measures: the compiled server, as `npm start` runs it, not the tsx-loaded sources the tests use.
import { command, example, type Lambda } from '../test/helpers/lambda.js';

/** Builds dist/ and makes startLambda() run dist/server/main.js (unless LAMBDA_SERVER_ENTRY says otherwise). */
export async function useCompiledServer(): Promise<void> {
  const built = await command('npx', ['tsc', '-p', 'tsconfig.build.json']);
  if (built.code !== 0) throw new Error(`tsc failed: ${built.stdout}${built.stderr}`);
  process.env.LAMBDA_SERVER_ENTRY ??= 'dist/server/main.js';
}

/** Deploys examples/greet as `greet` and returns its image, for the baselines that run the same image. */
export async function pushGreet(lambda: Lambda): Promise<string> {
  const push = await lambda.push('greet', example('greet'));
  if (push.code !== 0) throw new Error(push.stderr);
  return `lambda-fn/greet:${push.sha.slice(0, 12)}`;
}
