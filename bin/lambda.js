#!/usr/bin/env node
// The installed `lambda` command: runs the built CLI (dist/, made by `npm start` or `npm run build`) and exits with its status.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(main)) {
  const { run } = await import(main.href);
  process.exitCode = await run(process.argv.slice(2));
} else {
  // Said plainly instead of Node's ERR_MODULE_NOT_FOUND stack, which names a file newcomers never made.
  const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
  process.stderr.write(` !     the lambda CLI is not built yet: run \`npm start\` or \`npm run build\` in ${root} first\n`);
  process.exitCode = 1;
}
