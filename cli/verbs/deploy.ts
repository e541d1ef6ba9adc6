// `lambda deploy [dir] --name N`: pack a directory, upload it and show the build as it happens.
import { basename, resolve } from 'node:path';
import { Agent } from 'undici';
import type { Command } from 'commander';
import { endpointOf } from '../config.js';
import { CliError, EXIT, exitStatusForHttp } from '../errors.js';
import { functionPath, isRecord, malformed, ndjsonLines, send, type Endpoint } from '../http.js';
import type { CommandContext } from '../io.js';
import { assertFunctionName } from '../names.js';
import { entriesToPack, packEntries } from '../pack.js';
import { initialDeployState, renderDeployEvent, type DeployRenderEvent } from '../render.js';
import { manifestName } from './validate.js';
import { examples, type Verb } from './verb.js';

export const deployVerb: Verb = {
  name: 'deploy',
  summary: 'package a directory and deploy it as a function',
  ssh: false,
  notOverSsh: 'it packs a directory where it runs, which over SSH is the server',
  register(program, context) {
    program
      .command('deploy')
      .description(this.summary)
      .argument('[dir]', 'the function directory', '.')
      .option('-n, --name <name>', "the function's name (default: lambda.yaml's name:, else the directory's name)")
      .addHelpText('after', examples('lambda deploy ./greet', 'lambda deploy . --name greet --json'))
      .action(async (dir: string, options: { name?: string }, command: Command) => {
        await deploy(context(command), { dir, name: options.name });
      });
  },
};

export interface Deployment {
  readonly name: string;
  readonly version: number;
  readonly sha: string;
  readonly image: string;
  readonly url: string;
}

export type DeployPhase = 'manifest' | 'build' | 'start' | 'live';

/** One NDJSON line of a deploy stream, as the server sends it. */
export type DeployLine =
  | { readonly type: 'step'; readonly phase: DeployPhase; readonly text: string; readonly image?: string; readonly url?: string }
  | { readonly type: 'detail'; readonly text: string }
  | { readonly type: 'warn'; readonly text: string }
  | { readonly type: 'result'; readonly ok: true; readonly deployment: Deployment }
  | { readonly type: 'result'; readonly ok: false; readonly error: DeployFailure };

/** Why a deploy was rejected; `status` is the HTTP status the same error gets outside a stream, when the server says it. */
export interface DeployFailure {
  readonly code: string;
  readonly message: string;
  readonly status?: number;
}

/** What the deploy stream yields: `uploaded` once the server has taken the archive, then its lines. */
export type DeployEvent = { readonly type: 'uploaded' } | DeployLine;

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
  const endpoint = await endpointOf(ctx.io.env);

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

/**
 * POST /api/v1/functions/:name/deploy with a gzipped tar, yielding the NDJSON progress lines
 * as they arrive. A failure before streaming starts throws; one reported in the stream is the
 * final `result` line, which the caller turns into an error.
 */
async function* deployArchive(endpoint: Endpoint, name: string, archive: Uint8Array): AsyncGenerator<DeployEvent> {
  // Builds can be silent for minutes (dependency installs); the server reports its own failures.
  const dispatcher = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
  try {
    const res = await send(
      endpoint,
      functionPath(name, '/deploy'),
      { method: 'POST', headers: { 'Content-Type': 'application/gzip', Accept: 'application/x-ndjson' }, body: archive },
      dispatcher,
    );
    yield { type: 'uploaded' };
    if (!res.body) return;
    for await (const line of ndjsonLines(res.body, endpoint.url, 'during the deploy')) yield toDeployLine(line);
  } finally {
    await dispatcher.destroy();
  }
}

function toDeployLine(value: unknown): DeployLine {
  if (!isRecord(value) || typeof value.type !== 'string') throw malformed('a deploy progress line');
  const text = typeof value.text === 'string' ? value.text : '';
  switch (value.type) {
    case 'step':
      return {
        type: 'step',
        phase: value.phase as DeployPhase,
        text,
        image: typeof value.image === 'string' ? value.image : undefined,
        url: typeof value.url === 'string' ? value.url : undefined,
      };
    case 'detail':
    case 'warn':
      return { type: value.type, text };
    case 'result':
      if (value.ok === true && isRecord(value.deployment)) return { type: 'result', ok: true, deployment: toDeployment(value.deployment) };
      if (value.ok === false && isRecord(value.error)) {
        return {
          type: 'result',
          ok: false,
          error: {
            code: String(value.error.code ?? ''),
            message: String(value.error.message ?? 'the deploy failed'),
            ...(typeof value.status === 'number' ? { status: value.status } : {}),
          },
        };
      }
      throw malformed('the deploy result');
    default:
      // A newer server may send kinds of lines this client does not know; show their text as detail.
      return { type: 'detail', text };
  }
}

function toDeployment(value: Record<string, unknown>): Deployment {
  return {
    name: String(value.name ?? ''),
    version: Number(value.version),
    sha: String(value.sha ?? ''),
    image: String(value.image ?? ''),
    url: String(value.url ?? ''),
  };
}
