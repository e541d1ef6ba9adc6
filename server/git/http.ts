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
import type { RepoClaim, Repos } from './repos.js';

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
  const pushes = pushClaims(repos, isFunction);
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
    if (pushing) {
      // Counted before anything is awaited, so a request that goes away at any point is counted out.
      res.once('close', () => pushes.end(name));
      await pushes.start(name);
    } else if (!repos.exists(name)) {
      throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
    }
    req.url = `/${name}.git${match[2]}${url.search}`;
    git.handle(req, res);
  };
  return (req, res, path) => serve(req, res, path).catch((error: unknown) => refuse(res, error));
}

/** How long a push's hold on its repository outlasts its last request: git sends a large pack after a probe request. */
const PUSH_GRACE_MS = 2_000;

/**
 * One push is several requests (info/refs, a probe, the pack), so pushes to a name hold its repository together
 * (`Repos.claim`, which makes it on a first push) until none has come for a while. A new function whose first push was
 * rejected then leaves no empty repository behind, and one push never removes a repository another request uses.
 */
function pushClaims(repos: Repos, isFunction: (name: string) => boolean): { start(name: string): Promise<void>; end(name: string): void } {
  // `start` counts a request in before it awaits anything; its response's close counts it out (`end`).
  interface Held {
    requests: number;
    claim: Promise<RepoClaim>;
    timer?: NodeJS.Timeout;
  }
  const held = new Map<string, Held>();
  const end = (name: string) => {
    const entry = held.get(name);
    if (!entry || --entry.requests > 0) return;
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      if (held.get(name) !== entry || entry.requests > 0) return;
      held.delete(name);
      entry.claim.then((claim) => claim.release()).catch(() => {});
    }, PUSH_GRACE_MS);
    entry.timer.unref();
  };
  return {
    async start(name) {
      let entry = held.get(name);
      if (!entry) {
        entry = { requests: 0, claim: repos.claim(name, () => isFunction(name)) };
        held.set(name, entry);
      }
      clearTimeout(entry.timer);
      entry.requests += 1;
      await entry.claim;
    },
    end,
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
