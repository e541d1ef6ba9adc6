// Bundles the dashboard (dashboard/: TypeScript, its stylesheet with uPlot's) with esbuild into dist/dashboard/:
// index.html naming assets (and the icon) by their content's hash, so the server can let browsers keep them.
import crypto from 'node:crypto';
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
// The icon, named by its content's hash like the rest, so that no browser asks for a /favicon.ico the host has not.
const icon = fs.readFileSync(path.join(source, 'favicon.svg'));
named.icon = `favicon-${crypto.createHash('sha256').update(icon).digest('hex').slice(0, 8).toUpperCase()}.svg`;
fs.writeFileSync(path.join(assets, named.icon), icon);
const page = fs.readFileSync(path.join(source, 'index.html'), 'utf8').replace(/\{\{(script|style|icon)\}\}/g, (_all, which) => named[which]);
fs.writeFileSync(path.join(out, 'index.html'), page);
console.log(`-----> Dashboard built into ${path.relative(process.cwd(), out) || out}`);
