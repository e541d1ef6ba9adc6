// Git smart HTTP at /git/<name>.git: every request authenticated with the API key, repositories made on first push,
// refusals in the plain text git shows its user.
import type http from 'node:http';
import type { ChildProcess } from 'node:child_process';
import { Git, type Service } from 'node-git-server';
import { LambdaError, asLambdaError, escapeControl } from '../errors.js';
import { CLOSE_GRACE_MS, dropAfter, errorAnswer } from '../http/errors.js';
import { assertFunctionName } from '../functions/names.js';
import { safeDecode } from '../http/routes.js';
import { warnLine } from '../logs/progress-text.js';
import { clientOf } from '../access/auth-limit.js';
import type { Repos } from './repos.js';

export type GitHttpHandler = (req: http.IncomingMessage, res: http.ServerResponse, path: string) => Promise<void>;

/**
 * node-git-server only authenticates the info/refs request, not the POST that carries the pack, so
 * authentication happens here for every request before it is handed over.
 */
export function createGitHttp(repos: Repos, verifyKey: (key: string | undefined, client?: string) => boolean | Promise<boolean>, isFunction: (name: string) => boolean): GitHttpHandler {
  const git = new Git(repos.root, { autoCreate: false });
  // A git process that ends while its request still sends (a refused or broken pack) fails the write to its stdin:
  // that error is the request's, never the server's, which would otherwise die of it.
  const guard = (action: Service) => {
    action.on('error', () => {});
    action.once('service', (child: ChildProcess) => child.stdin?.on('error', () => {}));
    action.accept();
  };
  git.on('push', guard);
  git.on('fetch', guard);
  const cleanup = emptyRepositoryCleanup(repos, isFunction);
  const serve = async (req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<void> => {
    const url = new URL(path, 'http://git');
    const match = /^\/git\/([^/]+)\.git(\/.*)$/.exec(url.pathname);
    if (!match) {
      refuse(res, new LambdaError('LAMBDA_ERR_ROUTE_NOT_FOUND', { method: req.method ?? 'GET', path: url.pathname }), meantRepository(url.pathname));
      return;
    }
    const name = assertFunctionName(safeDecode(match[1]));
    // Too many wrong passwords from this address: LAMBDA_ERR_AUTH_RATE_LIMITED (429, Retry-After); an invoke-only token:
    // LAMBDA_ERR_FORBIDDEN (403); both thrown, and answered by `refuse` like every other refusal.
    if (!(await verifyKey(basicPassword(req.headers.authorization), clientOf(req.socket.remoteAddress)))) {
      refuse(res, new LambdaError('LAMBDA_ERR_UNAUTHORIZED'), 'run `lambda login URL` and `lambda setup-git` once, or give the key as the password');
      return;
    }
    const pushing = match[2] === '/git-receive-pack' || url.searchParams.get('service') === 'git-receive-pack';
    if (pushing) cleanup.using(name);
    try {
      if (!repos.exists(name)) {
        if (!pushing) throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
        await repos.ensure(name);
      }
    } catch (error) {
      if (pushing) cleanup.done(name);
      throw error;
    }
    req.url = `/${name}.git${match[2]}${url.search}`;
    if (pushing) res.once('close', () => cleanup.done(name));
    git.handle(req, res);
  };
  return (req, res, path) => serve(req, res, path).catch((error: unknown) => refuse(res, error));
}

/** How long an empty repository stays after its last push request: git sends a large pack after a probe request. */
const EMPTY_GRACE_MS = 2_000;

/**
 * A new function whose first push was rejected leaves no empty repository behind; but one push can be several
 * requests (info/refs, a probe, the pack), so the repository goes only once none has come for a while.
 */
function emptyRepositoryCleanup(repos: Repos, isFunction: (name: string) => boolean): { using(name: string): void; done(name: string): void } {
  const pushes = new Map<string, number>();
  const timers = new Map<string, NodeJS.Timeout>();
  return {
    using(name) {
      clearTimeout(timers.get(name));
      timers.delete(name);
      pushes.set(name, (pushes.get(name) ?? 0) + 1);
    },
    done(name) {
      const left = (pushes.get(name) ?? 1) - 1;
      if (left > 0) {
        pushes.set(name, left);
        return;
      }
      pushes.delete(name);
      if (isFunction(name)) return;
      clearTimeout(timers.get(name));
      const timer = setTimeout(() => {
        timers.delete(name);
        if (!pushes.has(name) && !isFunction(name)) repos.removeIfEmpty(name).catch(() => {});
      }, EMPTY_GRACE_MS);
      timer.unref();
      timers.set(name, timer);
    },
  };
}

/**
 * Git shows the body of an HTTP error only when it is plain text (each line as `remote: …`, then its own "returned
 * error: 400"); a JSON body would leave the user with the status alone. So a refusal is one line in the look of a
 * rejected push's, with its code.
 */
function refuse(res: http.ServerResponse, error: unknown, hint?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const lambdaError = asLambdaError(error);
  const { status, headers } = errorAnswer(lambdaError);
  // Git sends the key as the password, not as the catalogue's Bearer: for a refused key the hint replaces that advice.
  const message = hint && lambdaError.code === 'LAMBDA_ERR_UNAUTHORIZED' ? (lambdaError.message.split(': ')[0] ?? '') : lambdaError.message;
  const text = `${warnLine(`${escapeControl(message)}${hint ? `: ${hint}` : ''} (${lambdaError.code})`)}\n`;
  // Git asks its credential helper again on a 401 only when the challenge is Basic.
  if (status === 401) headers['www-authenticate'] = 'Basic realm="lambda"';
  // A pack whose body will not be read leaves the connection unusable, as for any other refusal.
  const closes = res.req !== undefined && !res.req.complete;
  if (closes) headers.connection = 'close';
  res.writeHead(status, { ...headers, 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
  if (closes && res.socket) dropAfter(res.socket, CLOSE_GRACE_MS);
}

/** `/git/greet/info/refs`, a remote added without `.git`: the repository URL it meant, when the name is a valid one. */
function meantRepository(pathname: string): string | undefined {
  const name = /^\/git\/([^/]+)(\/|$)/.exec(pathname)?.[1];
  if (name === undefined || name.endsWith('.git')) return undefined;
  try {
    return `did you mean /git/${assertFunctionName(safeDecode(name))}.git?`;
  } catch {
    return undefined;
  }
}

function basicPassword(header: string | undefined): string | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : decoded;
}
