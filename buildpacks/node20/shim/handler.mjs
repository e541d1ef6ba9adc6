// Loads the function's handler from the task folder; an ES module's syntax error gets its file and line.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { handlerSpec, taskRoot } from './settings.mjs';

export async function loadFunction() {
  const dot = handlerSpec.lastIndexOf('.');
  const file = handlerSpec.slice(0, dot);
  const exportName = handlerSpec.slice(dot + 1);
  const candidates = ['', '.js', '.mjs', '.cjs'].map((ext) => path.join(taskRoot, file + ext));
  const found = candidates.find((candidate) => fs.existsSync(candidate) && fs.statSync(candidate).isFile());
  if (!found) throw new Error(`handler file "${file}" not found (looked for ${file}.js, .mjs, .cjs in the repository)`);
  let mod;
  try {
    mod = await import(pathToFileURL(found).href);
  } catch (error) {
    throw await withSyntaxLocation(error, found);
  }
  const fn = mod[exportName] ?? mod.default?.[exportName];
  if (typeof fn !== 'function') throw new Error(`"${path.basename(found)}" does not export a function named "${exportName}"`);
  // Callback-style handlers (event, context, callback) are still valid Lambda handlers.
  if (fn.length >= 3) {
    return (event, context) => new Promise((resolve, reject) => {
      const maybe = fn(event, context, (error, result) => (error ? reject(error) : resolve(result)));
      if (maybe && typeof maybe.then === 'function') maybe.then(resolve, reject);
    });
  }
  return fn;

  // Node 20 reports an ES module's syntax error without file or line (CommonJS has both). `node --check` prints
  // `file:line`, the source line and a caret: ask it about the handler file, then the other sources it may import.
  async function withSyntaxLocation(error, entry) {
    if (!(error instanceof SyntaxError) || /^\s*(?:file:\/\/)?\/\S*:\d+\s*$/m.test(error.stack || '')) return error;
    const { spawnSync } = await import('node:child_process');
    const sources = [entry];
    const walk = (dir, depth) => {
      for (const item of fs.readdirSync(dir, { withFileTypes: true })) {
        if (sources.length >= 200) return;
        const full = path.join(dir, item.name);
        if (item.isDirectory() && item.name !== 'node_modules' && !item.name.startsWith('.') && depth < 8) walk(full, depth + 1);
        else if (item.isFile() && /\.(m?js|cjs)$/.test(item.name) && full !== entry) sources.push(full);
      }
    };
    try {
      walk(taskRoot, 0);
    } catch {
      // an unreadable folder: check what was found
    }
    const started = Date.now();
    for (const file of sources) {
      if (Date.now() - started > 5000) break;
      const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 5000, env: {} });
      if (check.status === 0 || !check.stderr) continue;
      const lines = check.stderr.split('\n');
      const at = /^(\/.*):(\d+)$/.exec(lines[0] || '');
      if (!at) continue;
      const where = `${path.relative(taskRoot, at[1])}:${at[2]}`;
      // The source line comes from the pushed repository: no control characters reach the pusher's terminal.
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      const excerpt = lines.slice(1, 3).map((line) => line.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, ''));
      const located = new SyntaxError(`${error.message} (${where})`);
      located.stack = [where, ...excerpt, `SyntaxError: ${error.message} (${where})`].join('\n');
      return located;
    }
    return error;
  }
}
