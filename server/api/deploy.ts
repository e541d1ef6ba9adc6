// REST adapter for POST /api/v1/functions/:name/deploy: a gzipped tar of a directory becomes a commit, then a deploy.
import fs from 'node:fs';
import path from 'node:path';
import { asLambdaError } from '../errors.js';
import { deploy } from '../functions/deploy.js';
import { assertFunctionName } from '../functions/names.js';
import type { ProgressEvent } from '../logs/progress.js';
import { commitSource } from '../git/source.js';
import { errorBody, sendJson } from '../http/errors.js';
import { safeDecode } from '../http/routes.js';
import { NAME, type ApiRoute } from './types.js';
import { receiveArchive } from './upload.js';
import { whoCalled } from './who.js';

export const deployRoute: ApiRoute = {
  method: 'POST',
  pattern: new RegExp(`^/api/v1/functions/${NAME}/deploy$`),
  async handle({ req, res, params, context }) {
    const name = assertFunctionName(safeDecode(params.name));
    const workTree = fs.mkdtempSync(path.join(context.workDir, `upload-${name}-`));
    try {
      await receiveArchive(req, workTree, context.limits.upload);
      const gitDir = await context.repos.ensure(name);
      const parent = await context.repos.head(name);
      const sha = await context.repos.commitDirectory(name, workTree, 'lambda deploy');
      const streaming = (req.headers.accept ?? '').includes('application/x-ndjson');
      if (streaming) res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const emit = (event: ProgressEvent) => {
        if (streaming) res.write(`${JSON.stringify(event)}\n`);
      };
      try {
        const deployment = await deploy(context.deps, { name, source: commitSource(gitDir, sha, context.deps.limits.maxCodeBytes), who: await whoCalled({ req, context }) }, emit);
        await context.repos.updateMain(name, sha, parent);
        if (streaming) res.end(`${JSON.stringify({ type: 'result', ok: true, deployment })}\n`);
        else sendJson(res, 201, deployment);
      } catch (error) {
        if (!context.deps.store.functions.get(name)) await context.repos.removeIfEmpty(name);
        if (!streaming) throw error;
        // Headers are sent once streaming starts, so the outcome travels in the last line, as Docker's build API does.
        // `status` is what the HTTP status would have been, so clients can map it as they map any other.
        const { status, body } = errorBody(asLambdaError(error));
        res.end(`${JSON.stringify({ type: 'result', ok: false, status, error: body.error })}\n`);
      }
    } finally {
      fs.rmSync(workTree, { recursive: true, force: true });
    }
  },
};
