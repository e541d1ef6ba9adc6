// Bundles the dashboard (dashboard/: TypeScript, its stylesheet with uPlot's) with esbuild into dist/dashboard/:
// index.html naming assets by their content's hash, so the server can let browsers keep them.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'dashboard');
const out = path.join(root, 'dist', 'dashboard');
const assets = path.join(out, 'assets');

fs.rmSync(out, { recursive: true, force: true });
const result = await build({
  entryPoints: { app: path.join(source, 'src', 'main.ts'), style: path.join(source, 'style.css') },
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  platform: 'browser',
  minify: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  entryNames: '[name]-[hash]',
  outdir: assets,
  metafile: true,
  logLevel: 'warning',
});

const named = {};
for (const [file, output] of Object.entries(result.metafile.outputs)) {
  if (!output.entryPoint) continue;
  named[file.endsWith('.css') ? 'style' : 'script'] = path.basename(file);
}
if (!named.script || !named.style) throw new Error(`the dashboard's build made no ${named.script ? 'stylesheet' : 'script'}`);
const page = fs.readFileSync(path.join(source, 'index.html'), 'utf8').replace(/\{\{(script|style)\}\}/g, (_all, which) => named[which]);
fs.writeFileSync(path.join(out, 'index.html'), page);
console.log(`-----> Dashboard built into ${path.relative(process.cwd(), out) || out}`);
