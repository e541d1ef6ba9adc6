// A folder of files sent over REST becomes a commit on the function's main and is deployed, answered whole or streamed as NDJSON.
import { asLambdaError } from '../errors.js';
import { deploy, type Deployment } from '../functions/deploy.js';
import { withFunctionLocked } from '../functions/lock.js';
import type { ProgressEvent } from '../logs/progress.js';
import type { RepoClaim } from '../git/repos.js';
import { commitSource } from '../git/source.js';
import { errorBody, sendJson } from '../http/errors.js';
import type { ApiCall } from './types.js';
import { whoCalled } from './who.js';

export interface DeployTreeOptions {
  /** The commit's message, which `lambda versions` shows. */
  message: string;
  /**
   * When the folder holds exactly the live version's files, make no commit and no version and answer 200 with the
   * live version (a PUT says what the function's files are; saying it again changes nothing).
   */
  unchangedIsLive?: boolean;
  /** Leave out what the folder's `.gitignore` files name (a folder deploy); otherwise every file sent is committed. */
  honourGitignore: boolean;
}

/**
 * Commits `workTree` on top of main and deploys it; main moves only once the new version is live. The function's
 * deploy lock is held from before its repository is made or read until main has moved, so a second deploy or
 * registration of the name is refused (LAMBDA_ERR_DEPLOY_IN_PROGRESS) before it touches anything; the repository is
 * held (`Repos.claim`) until the lock is let go, and a new function that did not go live leaves none behind.
 */
export async function deployWorkTree(call: ApiCall, name: string, workTree: string, options: DeployTreeOptions): Promise<void> {
  const { context } = call;
  let claim: RepoClaim | undefined;
  try {
    await withFunctionLocked(name, 'deploy', async () => {
      claim = await context.repos.claim(name, () => context.deps.store.functions.get(name) !== undefined);
      await commitAndDeploy(call, name, claim.gitDir, workTree, options);
    });
  } finally {
    await claim?.release();
  }
}

async function commitAndDeploy(call: ApiCall, name: string, gitDir: string, workTree: string, options: DeployTreeOptions): Promise<void> {
  const { req, res, context } = call;
  const streaming = (req.headers.accept ?? '').includes('application/x-ndjson');
  let started = false;
  const emit = (event: ProgressEvent) => {
    if (streaming) res.write(`${JSON.stringify(event)}\n`);
  };
  const finish = (status: number, deployment: Deployment) => {
    if (streaming) res.end(`${JSON.stringify({ type: 'result', ok: true, deployment })}\n`);
    else sendJson(res, status, deployment);
  };
  try {
    const parent = await context.repos.head(name);
    const tree = await context.repos.writeTree(name, workTree, { honourGitignore: options.honourGitignore });
    const live = options.unchangedIsLive ? await liveWithTree(call, name, tree) : undefined;
    if (streaming) res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    started = true;
    if (live) {
      emit({ type: 'detail', text: `Nothing changed: v${live.version} (${live.sha.slice(0, 12)}) has these files and stays live` });
      finish(200, live);
      return;
    }
    const sha = await context.repos.commitTree(name, tree, options.message);
    const deployment = await deploy(context.deps, { name, source: commitSource(gitDir, sha, context.deps.limits.maxCodeBytes), who: await whoCalled(call) }, emit);
    await context.repos.updateMain(name, sha, parent);
    finish(201, deployment);
  } catch (error) {
    if (!streaming || !started) throw error;
    // Headers are sent once streaming starts, so the outcome travels in the last line, as Docker's build API does.
    // `status` is what the HTTP status would have been, so clients can map it as they map any other.
    const { status, body } = errorBody(asLambdaError(error));
    res.end(`${JSON.stringify({ type: 'result', ok: false, status, error: body.error })}\n`);
  }
}

/** The live version as a deployment when its commit holds `tree`; undefined otherwise. */
async function liveWithTree({ context }: ApiCall, name: string, tree: string): Promise<Deployment | undefined> {
  const live = context.deps.store.versions.live(name);
  if (!live || (await context.repos.treeOf(name, live.sha)) !== tree) return undefined;
  return { name, version: live.number, sha: live.sha, image: live.image, url: context.deps.functionUrl(name) };
}
