// A stem cell's calls before it has a function: warm-ups, and the one init that brings the function.
import { randomUUID } from 'node:crypto';
import { httpEvent, makeContext, sendResult } from './event.mjs';
import { loadHandler } from './invocations.mjs';
import { carriesSecret, isCell, readSettings } from './settings.mjs';

// Before its init, a cell answers the host's warm-up calls through the request path a function's requests take, with
// no function and no output: what Node compiles or loads lazily on a first request (URL parsing, UUIDs, header
// checks, timers) is ready when the first real one comes.
export function warmCell(req, body, res) {
  const requestId = randomUUID();
  const event = httpEvent(req, body, requestId);
  makeContext(requestId).getRemainingTimeInMillis();
  process.memoryUsage.rss();
  performance.now();
  setImmediate(() => {});
  sendResult(res, { statusCode: 200, headers: { 'x-warm': '1' }, cookies: ['warm=1'], body: { path: event.rawPath } });
}

// A cell takes one init call, the first with the right secret; any other (a second one, a wrong or missing secret,
// a classic instance) is refused and changes nothing. The call's env becomes the whole environment, as a
// container's own env would be (HOSTNAME stays: Docker sets it), then the handler loads as in a classic start.
export let initTried = false;
export function initCell(req, body, res, setHandler) {
  if (initTried || !isCell || !carriesSecret(req)) {
    res.writeHead(403, { 'content-type': 'text/plain' });
    res.end('refused');
    return;
  }
  initTried = true;
  let env;
  try {
    env = JSON.parse(body.toString('utf8')).env;
    if (!env || typeof env !== 'object') throw new Error('no env');
  } catch (error) {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(`bad init: ${error.message}`, () => process.exit(1));
    return;
  }
  for (const name of Object.keys(process.env)) if (name !== 'HOSTNAME') delete process.env[name];
  for (const [name, value] of Object.entries(env)) process.env[name] = String(value);
  readSettings();
  loadHandler().then(
    (loaded) => {
      setHandler(loaded);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    },
    (error) => {
      const text = error instanceof Error ? error.stack || error.message : String(error);
      console.error(`ERROR\tInit Error\t${text}`);
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(text, () => process.exit(1));
    },
  );
}
