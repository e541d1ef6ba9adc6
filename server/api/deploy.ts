// REST adapter for POST /api/v1/functions/:name/deploy: a gzipped tar of a directory becomes a commit, then a deploy.
import fs from 'node:fs';
import path from 'node:path';
import { assertFunctionName } from '../functions/names.js';
import { safeDecode } from '../http/routes.js';
import { deployWorkTree } from './deploy-tree.js';
import { NAME, type ApiRoute } from './types.js';
import { receiveArchive } from './upload.js';

export const deployRoute: ApiRoute = {
  method: 'POST',
  pattern: new RegExp(`^/api/v1/functions/${NAME}/deploy$`),
  async handle(call) {
    const { req, params, context } = call;
    const name = assertFunctionName(safeDecode(params.name));
    const workTree = fs.mkdtempSync(path.join(context.workDir, `upload-${name}-`));
    try {
      await receiveArchive(req, workTree, context.limits.upload);
      // Each upload is a new version, even of the same files: `lambda deploy` run again redeploys, as a push does.
      await deployWorkTree(call, name, workTree, { message: 'lambda deploy', honourGitignore: true });
    } finally {
      fs.rmSync(workTree, { recursive: true, force: true });
    }
  },
};
