// The control socket the pre-receive hook calls: runs the deploy for a pushed main and streams its output back.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { LambdaError, asLambdaError, escapeControl } from '../errors.js';
import type { Deps } from '../functions/deps.js';
import { deploy } from '../functions/deploy.js';
import { errorLines, progressLine, stepLine, type TextLine } from '../logs/progress-text.js';
import type { Repos } from './repos.js';
import { commitSource, type ObjectEnv } from './source.js';

interface PreReceive {
  gitDir: string;
  updates: { old: string; new: string; ref: string }[];
  env: ObjectEnv;
}

const ZERO = /^0{40}$/;
const DEPLOY_REFS = new Set(['refs/heads/main', 'refs/heads/master']);

export async function startControlServer(socketPath: string, deps: Deps, repos: Repos): Promise<http.Server> {
  fs.rmSync(socketPath, { force: true });
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/pre-receive') {
      res.writeHead(404).end();
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const send = (line: TextLine) => res.write(`${JSON.stringify({ [line.stream]: line.text })}\n`);
      Promise.resolve()
        .then(() => preReceive(JSON.parse(body) as PreReceive, deps, repos, send))
        .then((exit) => res.end(`${JSON.stringify({ exit })}\n`))
        .catch((error: unknown) => {
          for (const line of errorLines(asLambdaError(error))) send(line);
          res.end(`${JSON.stringify({ exit: 1 })}\n`);
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  fs.chmodSync(socketPath, 0o600);
  return server;
}

async function preReceive(input: PreReceive, deps: Deps, repos: Repos, send: (line: TextLine) => void): Promise<number> {
  const name = path.basename(input.gitDir).replace(/\.git$/, '');
  if (path.resolve(repos.dir(name)) !== path.resolve(input.gitDir)) {
    throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: 'the hook ran outside the repositories directory' });
  }
  for (const update of input.updates) {
    if (!DEPLOY_REFS.has(update.ref)) {
      send({ stream: 'out', text: stepLine(`Accepted ${escapeControl(update.ref)} without deploying (only main or master deploys)`) });
      continue;
    }
    if (ZERO.test(update.new)) {
      throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: `deleting ${update.ref} is not allowed: it holds the live version's code` });
    }
    await deploy(deps, { name, source: commitSource(input.gitDir, update.new, deps.limits.maxCodeBytes, input.env) }, (event) => send(progressLine(event)));
  }
  return 0;
}
