// REST adapter for PUT /api/v1/functions/:name: a function registered from source in one call, its files and
// lambda.yaml's keys in a JSON body, committed and deployed as `lambda deploy` does.
import fs from 'node:fs';
import path from 'node:path';
import { assertNewFunctionName } from '../functions/names.js';
import { safeDecode } from '../http/routes.js';
import { deployWorkTree } from './deploy-tree.js';
import { readJsonObject } from './json-body.js';
import { notJsonHint, registrationFiles, type RegisteredFile } from './register-body.js';
import { NAME, type ApiRoute } from './types.js';

export const registerRoute: ApiRoute = {
  method: 'PUT',
  pattern: new RegExp(`^/api/v1/functions/${NAME}$`),
  async handle(call) {
    const { params, context } = call;
    const name = assertNewFunctionName(safeDecode(params.name));
    // Base64 makes the body a third larger than the files: it is bounded as an upload is, the files as unpacked ones.
    const body = await readJsonObject(call, context.limits.upload.maxBytes).catch((error: unknown) => {
      throw notJsonHint(error);
    });
    const files = registrationFiles(body, name, { maxBytes: context.limits.upload.maxExpandedBytes });
    const workTree = fs.mkdtempSync(path.join(context.workDir, `register-${name}-`));
    try {
      writeFiles(workTree, files);
      await deployWorkTree(call, name, workTree, { message: 'registered over REST', unchangedIsLive: true, honourGitignore: false });
    } finally {
      fs.rmSync(workTree, { recursive: true, force: true });
    }
  },
};

/**
 * Writes each file as a plain file, mode 0644: no links and no executable bit, as no runtime needs one. The paths are
 * checked (relative, no "..") and the folder is new, so nothing in it can lead outside; the check below holds that.
 */
function writeFiles(dir: string, files: RegisteredFile[]): void {
  const root = path.resolve(dir);
  for (const file of files) {
    const target = path.resolve(root, file.path);
    if (!target.startsWith(`${root}${path.sep}`)) throw new Error(`refusing to write outside ${root}: ${file.path}`);
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
    fs.writeFileSync(target, file.content, { mode: 0o644, flag: 'wx' });
  }
}
