// Serves the dashboard under /dashboard: index.html for its pages, its built assets, and the headers that fence it in.
import fs from 'node:fs';
import path from 'node:path';
import type http from 'node:http';
import { LambdaError } from '../errors.js';

/**
 * The page runs only its own script and styles and talks only to this server; nothing may frame it. uPlot sets its
 * sizes through element.style (the CSSOM), which 'self' styles allow, so it needs nothing more.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Sent with every dashboard answer, errors included. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** The only kinds of file served, by extension; anything else in the folder stays unreachable. */
const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
};

/** The build names assets after their content's hash, so a browser may keep them; the page itself is always asked again. */
const ASSET_CACHE = 'public, max-age=31536000, immutable';
const PAGE_CACHE = 'no-cache';

const ASSETS_PREFIX = '/dashboard/assets/';

interface File {
  body: Buffer;
  type: string;
}

interface Bundle {
  index: Buffer;
  assets: Map<string, File>;
}

export interface DashboardOptions {
  /** The built dashboard: index.html and assets/ (scripts/build-dashboard.mjs writes it). */
  dir: string;
}

export type DashboardHandler = (req: http.IncomingMessage, res: http.ServerResponse, url: string) => Promise<void>;

/**
 * Assets are looked up by their exact name in a table read once from the folder, so no part of a request ever becomes
 * a file path: `..`, encoded dots or slashes simply name nothing.
 */
export function createDashboard(options: DashboardOptions): DashboardHandler {
  let bundle: Bundle | undefined;
  const load = (): Bundle => {
    bundle ??= readBundle(options.dir);
    return bundle;
  };
  return async (req, res, url) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    const pathname = url.split('?')[0] ?? '';
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new LambdaError('LAMBDA_ERR_ROUTE_NOT_FOUND', { method: req.method ?? 'GET', path: pathname });
    const { index, assets } = load();
    if (pathname.startsWith(ASSETS_PREFIX)) {
      const file = assets.get(pathname.slice(ASSETS_PREFIX.length));
      if (!file) throw new LambdaError('LAMBDA_ERR_ROUTE_NOT_FOUND', { method: req.method, path: pathname });
      send(req, res, file.body, file.type, ASSET_CACHE);
      return;
    }
    // Every other path is one of the page's own routes (/dashboard/functions/<name>…): the script reads it.
    send(req, res, index, 'text/html; charset=utf-8', PAGE_CACHE);
  };
}

function send(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, type: string, cache: string): void {
  res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'cache-control': cache });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function readBundle(dir: string): Bundle {
  let index: Buffer;
  try {
    index = fs.readFileSync(path.join(dir, 'index.html'));
  } catch {
    throw new LambdaError('LAMBDA_ERR_DASHBOARD_NOT_BUILT', {});
  }
  const assets = new Map<string, File>();
  const assetDir = path.join(dir, 'assets');
  for (const entry of fs.existsSync(assetDir) ? fs.readdirSync(assetDir, { withFileTypes: true }) : []) {
    const type = TYPES[path.extname(entry.name)];
    if (entry.isFile() && type) assets.set(entry.name, { body: fs.readFileSync(path.join(assetDir, entry.name)), type });
  }
  return { index, assets };
}
