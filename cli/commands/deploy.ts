// `lambda deploy [dir] --name N`: pack a directory, upload it and show the build as it happens.
import { basename, resolve } from 'node:path';
import { deployArchive, type Deployment } from '../client.js';
import { loadConfig, requireApiKey } from '../config.js';
import { CliError, EXIT, exitStatusForHttp } from '../errors.js';
import type { CommandContext } from '../io.js';
import { assertFunctionName } from '../names.js';
import { entriesToPack, packEntries } from '../pack.js';
import { initialDeployState, renderDeployEvent, type DeployRenderEvent } from '../render.js';
import { manifestName } from './validate.js';

export interface DeployOptions {
  /** The function's directory; `.` when not given. */
  readonly dir?: string;
  /** The function's name; lambda.yaml's `name:`, else the directory's name, when not given. */
  readonly name?: string;
}

/**
 * Deploys `dir` as function `name`; throws the server's error when the deploy is rejected.
 * The name is checked before anything is packed (LAMBDA_ERR_INVALID_NAME, exit status 2).
 */
export async function deploy(ctx: CommandContext, options: DeployOptions): Promise<Deployment> {
  const dir = resolve(options.dir ?? '.');
  // The name: --name, else lambda.yaml's `name:`, else the directory's name.
  const fromManifest = options.name === undefined ? await manifestName(dir) : undefined;
  const name =
    options.name !== undefined
      ? assertFunctionName(options.name)
      : (fromManifest ?? assertFunctionName(basename(dir), `the name was taken from the directory ${dir}: give one with --name NAME`));
  const config = await loadConfig(ctx.io.env);
  const endpoint = { url: config.url, apiKey: requireApiKey(config) };

  let state = initialDeployState;
  const show = (event: DeployRenderEvent): void => {
    const rendered = renderDeployEvent(state, event);
    state = rendered.state;
    for (const write of rendered.writes) {
      // With --json, stdout carries only the final JSON; warnings still reach people on stderr.
      if (write.stream === 'stderr') ctx.io.stderr.write(write.text);
      else if (!ctx.json) ctx.io.stdout.write(write.text);
    }
  };

  const entries = await entriesToPack(dir);
  show({ type: 'packing' });
  try {
    const archive = await packEntries(dir, entries);
    for await (const event of deployArchive(endpoint, name, archive)) {
      show(event);
      if (event.type !== 'result') continue;
      if (!event.ok) {
        // Once streaming has begun the HTTP status is 200; the result line may carry the one the error maps to.
        const exitStatus = event.error.status === undefined ? EXIT.generic : exitStatusForHttp(event.error.status);
        throw new CliError(event.error.message, { code: event.error.code || undefined, exitStatus });
      }
      if (ctx.json) ctx.io.stdout.write(`${JSON.stringify(event.deployment, null, 2)}\n`);
      return event.deployment;
    }
  } finally {
    // An error arriving after `...` must start on a line of its own.
    if (state.open && !ctx.json) ctx.io.stdout.write('\n');
  }
  throw new CliError('the server ended the deploy stream without a result; run `lambda list` to see what is live');
}
