// The dashboard in a real browser (Debian's chromium, headless, driven by playwright-core) against a real server with
// functions deployed by git push: sign in, the functions, live logs, rollback, a dead letter replayed, and hostile
// text (log lines, commit messages, env values) shown as text with nothing run.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { command, fixture, requireDocker, ROOT, startLambda, type Lambda } from '../helpers/lambda.js';
import { eventually } from '../helpers/load.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'test-results', 'dashboard');
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const HOSTILE_IMG = '<img src=x onerror="window.__pwned=1">';
const HOSTILE_SCRIPT = '<script>window.__pwned=2</script>';
const HOSTILE_ENV = '<img src=x onerror="window.__pwned=3">';

// Without the browser, CI fails (it installs one: scripts/ensure-test-tools.sh); elsewhere the browser tests are skipped, saying why.
const missing = !fs.existsSync(CHROMIUM);
if (missing && process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: CI must install Debian's chromium (scripts/ensure-test-tools.sh)`);
if (missing) console.warn(`Skipping the dashboard's browser tests: ${CHROMIUM} is missing (scripts/ensure-test-tools.sh installs Debian's chromium).`);
const browserTest = missing ? test.serial.skip : test.serial;

let lambda: Lambda;
let context: BrowserContext;
let page: Page;
let profile: string;
const dialogs: string[] = [];
let deadLetter = '';

/** The dashboard's own host, where no function answers (a browser resolves *.localhost to loopback). */
const boardHost = () => `dashboard.localhost:${lambda.port}`;
const board = () => `http://${boardHost()}`;

/** `git push` of `dir` as function `name` with commit message `message` (a pusher controls it). */
async function pushWithMessage(name: string, dir: string, message: string): Promise<void> {
  const work = fs.mkdtempSync(path.join(lambda.dataDir, 'push-'));
  fs.cpSync(dir, work, { recursive: true });
  const git = (args: string[]) => command('git', args, { cwd: work });
  await git(['init', '-q', '-b', 'main']);
  await git(['add', '-A']);
  await git(['-c', 'user.name=pusher', '-c', 'user.email=pusher@lambda.local', 'commit', '-qm', message]);
  const pushed = await git(['push', `http://lambda:${lambda.key}@127.0.0.1:${lambda.port}/git/${name}.git`, 'main', '--force']);
  fs.rmSync(work, { recursive: true, force: true });
  if (pushed.code !== 0) throw new Error(`could not push ${name}: ${pushed.stderr}`);
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

test.before(async () => {
  if (missing) return;
  await requireDocker();
  const built = await command(process.execPath, [path.join(ROOT, 'scripts', 'build-dashboard.mjs')], { cwd: ROOT });
  if (built.code !== 0) throw new Error(`the dashboard did not build: ${built.stderr}`);
  fs.mkdirSync(SHOTS, { recursive: true });
  lambda = await startLambda({ LAMBDA_RETRY_BASE_MS: '200' });
  await pushWithMessage('greet', fixture('thrower'), HOSTILE_IMG);
  await pushWithMessage('greet', fixture('thrower'), HOSTILE_SCRIPT);
  await pushWithMessage('quiet', fixture('echo'), 'a second function');
  const env = await lambda.api('/api/v1/functions/greet/env', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ set: { HOSTILE: HOSTILE_ENV } }) });
  if (env.status !== 200) throw new Error(`env: ${env.status} ${await env.text()}`);
  // A dead letter: an async call that fails every attempt (two retries, 200 ms apart here).
  const queued = await lambda.api('/api/v1/functions/greet/invoke', { method: 'POST', headers: { 'x-lambda-invocation-type': 'Event', 'content-type': 'application/json' }, body: JSON.stringify({ boom: 1, note: HOSTILE_IMG }) });
  if (queued.status !== 202) throw new Error(`async call: ${queued.status}`);
  deadLetter = ((await queued.json()) as { invocationId: string }).invocationId;
  const dead = await eventually(async () => {
    const { invocations } = (await (await lambda.api('/api/v1/functions/greet/dlq')).json()) as { invocations: { id: string }[] };
    return invocations.some((letter) => letter.id === deadLetter);
  }, 60_000);
  if (!dead) throw new Error('no dead letter appeared');
  // A call so that the function has an instance and a line in its logs before the page opens.
  await lambda.fetch('/fn/greet/?mark=warm');

  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  // Any violation of the CSP is recorded: the page must need nothing the policy forbids (uPlot included).
  await context.addInitScript(() => {
    const record = window as unknown as { __violations: string[] };
    record.__violations = [];
    document.addEventListener('securitypolicyviolation', (event) => record.__violations.push(`${event.violatedDirective} ${event.blockedURI}`));
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
});

test.after.always(async () => {
  await context?.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
  await lambda?.destroy();
});

/** Nothing hostile ran, no dialog opened and the page broke no rule of its CSP. */
async function nothingRan(t: { is(a: unknown, b: unknown, m?: string): void; deepEqual(a: unknown, b: unknown, m?: string): void }): Promise<void> {
  t.is(await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned), undefined, 'window.__pwned was set');
  t.deepEqual(dialogs, [], 'a dialog opened');
  t.deepEqual(await page.evaluate(() => (window as unknown as { __violations?: string[] }).__violations ?? []), [], 'CSP violations');
}

browserTest('every dashboard answer carries the CSP and the other headers', async (t) => {
  const index = await lambda.fetch('/dashboard', { host: boardHost() });
  const html = await index.text();
  const assets = [...html.matchAll(/\/dashboard\/assets\/[\w.-]+/g)].map((m) => m[0]);
  t.is(assets.length, 3, 'a script, a stylesheet and the icon');
  for (const url of ['/dashboard', '/dashboard/', '/dashboard/functions/greet', ...assets, '/dashboard/assets/missing.js', '/dashboard/assets/app.js']) {
    const answer = await lambda.fetch(url, { host: boardHost() });
    t.is(answer.headers.get('content-security-policy'), CSP, url);
    t.is(answer.headers.get('x-content-type-options'), 'nosniff', url);
    t.is(answer.headers.get('referrer-policy'), 'no-referrer', url);
    t.is(answer.headers.get('x-frame-options'), 'DENY', url);
    t.false((await answer.text()).includes('"devDependencies"'), url);
  }
  const types = await Promise.all(assets.map(async (asset) => (await lambda.fetch(asset, { host: boardHost() })).headers.get('content-type') ?? ''));
  t.deepEqual(types.map((type) => type.split(';')[0]).sort(), ['image/svg+xml', 'text/css', 'text/javascript']);
  // The control origin, which serves every function under /fn/, only sends the dashboard's addresses to its host.
  const moved = await lambda.fetch('/dashboard/functions/greet', { redirect: 'manual' });
  t.is(moved.status, 302);
  t.is(moved.headers.get('location'), `//${boardHost()}/dashboard/functions/greet`);
  // Leaving the control origin clears what an older dashboard kept there (its token, a worker a function put there).
  t.is(moved.headers.get('clear-site-data'), '"storage"');
  t.is((await lambda.fetch(assets[0] as string, { redirect: 'manual' })).status, 302);
});

browserTest('a wrong API token is refused; the right one signs in and the functions show', async (t) => {
  // By the address people know: the control origin sends the browser on to the dashboard's host.
  await page.goto(`http://localhost:${lambda.port}/dashboard`);
  await page.locator('#token').waitFor();
  t.is(new URL(page.url()).host, boardHost());
  t.regex(await page.locator('#sign-in-hint').innerText(), /npm start.*lambda tokens create/s);
  await shot('sign-in');
  // An empty field says what is missing instead of doing nothing.
  await page.click('button[type=submit]');
  await page.locator('#sign-in-message', { hasText: 'Paste an API token' }).waitFor();
  await page.fill('#token', 'wrong-token');
  await page.click('button[type=submit]');
  await page.locator('#sign-in-message', { hasText: 'refused' }).waitFor();
  t.is(await page.evaluate(() => sessionStorage.getItem('lambda.token')), null);

  await page.fill('#token', lambda.key);
  await page.click('button[type=submit]');
  const row = page.locator('#functions tr', { hasText: 'greet' });
  await row.waitFor();
  t.regex(await row.innerText(), /v2/);
  t.regex(await row.innerText(), new RegExp(`http://greet\\.[^\\s]+:${lambda.port}`));
  t.true(await page.locator('#functions tr', { hasText: 'quiet' }).isVisible());
  // The last hour's calls (the warm-up call and the failed async attempts) and their sparkline, drawn by uPlot.
  await row.locator('.sparkline canvas').waitFor();
  t.regex(await row.innerText(), /\b[1-9]\d*\b[\s\S]*\b[1-9]\d* \(/);
  // The token is kept for this tab only, and no cookie exists at all.
  t.is(await page.evaluate(() => sessionStorage.getItem('lambda.token')), lambda.key);
  t.deepEqual(await context.cookies(), []);
  await shot('functions');
  await nothingRan(t);
});

browserTest('a function page shows hostile commit messages and env values as text, and runs nothing', async (t) => {
  await page.click('#functions a:text-is("greet")');
  await page.waitForURL(/\/dashboard\/functions\/greet$/);
  const versions = page.locator('table.versions');
  await versions.waitFor();
  t.true(await page.locator('.commit-message', { hasText: HOSTILE_IMG }).isVisible());
  t.true(await page.locator('.commit-message', { hasText: HOSTILE_SCRIPT }).isVisible());
  t.is(await page.locator('main img').count(), 0);
  t.is(await page.locator('main script').count(), 0);
  // The env value is masked until asked for, then shown as it is.
  const value = page.locator('table.env tr', { hasText: 'HOSTILE' }).locator('.env-value');
  t.false((await value.innerText()).includes('<img'));
  await page.click('button[data-reveal="HOSTILE"]');
  await page.locator('table.env .env-value', { hasText: HOSTILE_ENV }).waitFor();
  t.is(await page.locator('main img').count(), 0);
  await nothingRan(t);
});

browserTest('logs follow live: a call made while the page is open shows its line, hostile text as text', async (t) => {
  await page.locator('.log-status', { hasText: 'Following' }).waitFor();
  const mark = `live-${Date.now()}`;
  t.is(await page.locator('.log-text', { hasText: mark }).count(), 0);
  await lambda.fetch(`/fn/greet/?mark=${mark}`);
  await page.locator('.log-text', { hasText: `called http ${mark}` }).waitFor();
  await lambda.fetch(`/fn/greet/?mark=${encodeURIComponent(HOSTILE_IMG)}`);
  await lambda.fetch(`/fn/greet/?mark=${encodeURIComponent(HOSTILE_SCRIPT)}`);
  await page.locator('.log-text', { hasText: `called http ${HOSTILE_IMG}` }).waitFor();
  await page.locator('.log-text', { hasText: `called http ${HOSTILE_SCRIPT}` }).waitFor();
  t.is(await page.locator('main img').count(), 0);
  t.is(await page.locator('main script').count(), 0);
  await shot('function');
  await nothingRan(t);
});

browserTest('a dead letter is replayed from its page', async (t) => {
  const row = page.locator('table.dead-letters tr', { hasText: deadLetter.slice(0, 12) });
  await row.waitFor();
  await row.locator(`button[data-replay="${deadLetter}"]`).click();
  await row.locator('text=queued as').waitFor();
  const { invocations } = (await (await lambda.api('/api/v1/functions/greet/invocations')).json()) as { invocations: { replayOf: string | null }[] };
  t.true(invocations.some((call) => call.replayOf === deadLetter));
  await nothingRan(t);
});

browserTest('rollback asks first, then moves the live version', async (t) => {
  await page.click('button[data-action="rollback"][data-version="1"]');
  const confirm = page.locator('.confirm');
  await confirm.waitFor();
  t.regex(await confirm.innerText(), /from v2 to v1/);
  await shot('rollback-confirm');
  // Nothing was sent before the confirmation.
  const before = (await (await lambda.api('/api/v1/functions/greet')).json()) as { live: { version: number } };
  t.is(before.live.version, 2);
  await page.click('button[data-action="confirm-rollback"]');
  await page.locator('#live-version', { hasText: 'v1' }).waitFor({ timeout: 90_000 });
  const after = (await (await lambda.api('/api/v1/functions/greet')).json()) as { live: { version: number } };
  t.is(after.live.version, 1);
  await page.locator('table.releases td', { hasText: 'rollback' }).first().waitFor();
  await nothingRan(t);
});

browserTest('the chart window can be changed and the charts stand with or without data', async (t) => {
  await page.click('button[data-window="24h"]');
  await page.waitForURL(/window=24h/);
  await page.locator('button[data-window="24h"][aria-pressed="true"]').waitFor();
  await page.locator('.chart figcaption', { hasText: 'Duration' }).waitFor();
  t.is(await page.locator('.chart').count(), 2);
  // The calls made so far are in the charts: uPlot drew both, and the totals count them.
  await page.locator('.chart canvas').nth(1).waitFor();
  t.regex(await page.locator('.totals').innerText(), /^[1-9]\d* invocations?, [1-9]\d* errors?/);
  t.regex(await page.locator('.chart-note').innerText(), /^Times are local \(.+\)\.$/);
  // A window the page does not offer is taken out of the address, which then names the one shown.
  await page.goto(`${board()}/dashboard/functions/greet?window=2h`);
  await page.locator('button[data-window="1h"][aria-pressed="true"]').waitFor();
  await page.waitForURL(/\?window=1h$/);
  await page.locator('table.by-version').waitFor();
  t.true(await page.locator('table.by-version').isVisible());
  await nothingRan(t);
});

browserTest('a function that does not exist gets one message with a way back, and no page asks for what is not there', async (t) => {
  const missingAnswers: string[] = [];
  const onResponse = (response: { status(): number; url(): string }) => {
    if (response.status() === 404 && !response.url().includes('/api/v1/functions/gret')) missingAnswers.push(response.url());
  };
  page.on('response', onResponse);
  t.teardown(() => page.off('response', onResponse));
  await page.goto(`${board()}/dashboard/functions/gret`);
  await page.locator('#no-function', { hasText: 'No function named gret' }).waitFor();
  t.is(await page.locator('main section').count(), 0, 'no panels for a function that is none');
  t.is(await page.getByText('does not exist').count(), 0);
  await page.click('#no-function a');
  await page.locator('#functions tr', { hasText: 'greet' }).waitFor();
  t.deepEqual(missingAnswers, [], 'answers 404 (a /favicon.ico?)');
  await nothingRan(t);
});

browserTest('a page on another origin gets 401 from the API: the browser sends it no credential', async (t) => {
  const other = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>elsewhere</title>');
  });
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  const elsewhere = await context.newPage();
  t.teardown(async () => {
    await elsewhere.close();
    other.closeAllConnections();
    await new Promise<void>((resolve) => other.close(() => resolve()));
  });
  // localhost and 127.0.0.1 are different sites' origins to the browser.
  await elsewhere.goto(`http://localhost:${(other.address() as { port: number }).port}/`);
  const statuses: number[] = [];
  elsewhere.on('response', (response) => {
    if (response.url().includes('/api/v1/')) statuses.push(response.status());
  });
  const api = `${lambda.base}/api/v1/functions`;
  await elsewhere.evaluate(async (url) => {
    await fetch(url, { mode: 'no-cors', credentials: 'include' }).catch(() => undefined);
    await fetch(`${url}/greet/rollback`, { method: 'POST', mode: 'no-cors', credentials: 'include', body: '{}' }).catch(() => undefined);
  }, api);
  await eventually(() => statuses.length >= 2, 10_000);
  t.deepEqual(statuses, [401, 401]);
  // The other origin cannot read the dashboard's token either.
  t.is(await elsewhere.evaluate(() => sessionStorage.getItem('lambda.token')), null);
  const live = (await (await lambda.api('/api/v1/functions/greet')).json()) as { live: { version: number } };
  t.is(live.live.version, 1);
});

browserTest('a refused token returns to the sign-in form with a message; signing out forgets the token', async (t) => {
  await page.evaluate(() => sessionStorage.setItem('lambda.token', 'revoked-or-wrong'));
  await page.goto(`${board()}/dashboard/functions/greet`);
  await page.locator('#sign-in-message', { hasText: 'refused' }).waitFor();
  t.is(await page.evaluate(() => sessionStorage.getItem('lambda.token')), null);
  await page.fill('#token', lambda.key);
  await page.click('button[type=submit]');
  await page.locator('#sign-out').waitFor();
  await page.click('#sign-out');
  await page.locator('#token').waitFor();
  t.is(await page.evaluate(() => sessionStorage.getItem('lambda.token')), null);
  await nothingRan(t);
});
