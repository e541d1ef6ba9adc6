// The dashboard's own origin in a real browser (Debian's chromium through playwright-core): a hostile function's page,
// on the shared control origin (/fn/<name>/) and on its own host, tries to put a service worker in front of the
// dashboard and to read the signed-in tab's token; the operator signs in and works as usual; the key never reaches the
// function (which logs whatever it catches).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { command, fixture, requireDocker, ROOT, startLambda, type Lambda } from '../helpers/lambda.js';
import { eventually } from '../helpers/load.js';

const CHROMIUM = '/usr/bin/chromium';

const missing = !fs.existsSync(CHROMIUM);
if (missing && process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: CI must install Debian's chromium (scripts/ensure-test-tools.sh)`);
if (missing) console.warn(`Skipping the dashboard's origin tests: ${CHROMIUM} is missing (scripts/ensure-test-tools.sh installs Debian's chromium).`);
const browserTest = missing ? test.serial.skip : test.serial;

let lambda: Lambda;
let context: BrowserContext;
let page: Page;
let profile: string;

/** The control origin as an operator's browser knows it, and the hostile function's own host. */
const control = () => `http://localhost:${lambda.port}`;
const evilHost = () => `http://evil.localhost:${lambda.port}`;

/** Everything the hostile function has written to its log so far. */
async function caught(): Promise<string> {
  const answer = await lambda.api('/api/v1/functions/evil/logs?tail=1000');
  if (answer.status !== 200) throw new Error(`logs: ${answer.status}`);
  return await answer.text();
}

/** Opens the hostile page at `url` and waits for its own report of what it managed (it sets the title). */
async function openEvil(url: string): Promise<string> {
  await page.goto(url);
  await page.waitForFunction(() => document.title !== 'evil', undefined, { timeout: 30_000 });
  return await page.title();
}

async function signIn(): Promise<void> {
  await page.goto(`${control()}/dashboard`);
  // A fresh sign-in each time, even in a tab that already has one.
  await page.evaluate(() => sessionStorage.removeItem('lambda.token'));
  await page.reload();
  await page.locator('#token').waitFor();
  await page.fill('#token', lambda.key);
  await page.click('button[type=submit]');
  await page.locator('#functions tr', { hasText: 'evil' }).waitFor();
}

test.before(async () => {
  if (missing) return;
  await requireDocker();
  const built = await command(process.execPath, [path.join(ROOT, 'scripts', 'build-dashboard.mjs')], { cwd: ROOT });
  if (built.code !== 0) throw new Error(`the dashboard did not build: ${built.stderr}`);
  lambda = await startLambda();
  const pushed = await lambda.push('evil', fixture('sw-thief'));
  if (pushed.code !== 0) throw new Error(`could not push evil: ${pushed.stderr}`);
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
});

test.after.always(async () => {
  await context?.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
  await lambda?.destroy();
});

browserTest("a function's service worker never sees the token the dashboard sends", async (t) => {
  // On the shared origin the worker's script is refused; on its own host it may have one, for its own origin only.
  const shared = await openEvil(`${control()}/fn/evil/`);
  const own = await openEvil(`${evilHost()}/`);
  // The operator opens the dashboard by its old address, lands on its host, signs in and uses it.
  await signIn();
  const landed = page.url();
  await page.click('#functions a:text-is("evil")');
  await page.locator('table.versions').waitFor();
  await page.locator('.log-status', { hasText: 'Following' }).waitFor();
  // The function's log works (its page reported itself), and holds no key.
  t.true(await eventually(async () => (await caught()).includes('captured worker: registered'), 30_000), 'the function logged its page visits');
  t.false((await caught()).includes(lambda.key), 'the key reached the function');
  t.false((await caught()).includes('captured authorization'), 'the worker saw an Authorization header');
  t.true(landed.startsWith(`http://dashboard.localhost:${lambda.port}/dashboard`), landed);
  t.regex(shared, /^refused/);
  t.is(own, 'registered');
});

browserTest('a signed-in dashboard tab sent to a function cannot read the token', async (t) => {
  await signIn();
  t.is(await page.evaluate(() => sessionStorage.getItem('lambda.token')), lambda.key);
  for (const url of [`${control()}/fn/evil/`, `${evilHost()}/`, `http://127.0.0.1:${lambda.port}/fn/evil/`]) {
    await openEvil(url);
    t.is(await page.evaluate(() => sessionStorage.getItem('lambda.token')), null, url);
  }
  // And the dashboard's own host serves no function to read it from.
  const answer = await page.goto(`http://dashboard.localhost:${lambda.port}/fn/evil/`);
  t.is(answer?.status(), 404);
  t.true(await eventually(async () => (await caught()).includes(`captured page: http://127.0.0.1:${lambda.port} token=null`), 30_000));
  t.false((await caught()).includes(lambda.key), 'the key reached the function');
});

browserTest('no function takes the dashboard host: a push of a function named dashboard is refused', async (t) => {
  const pushed = await lambda.push('dashboard', fixture('echo'));
  t.not(pushed.code, 0);
  t.regex(pushed.stderr, /LAMBDA_ERR_NAME_RESERVED|"dashboard" is reserved/);
  const listed = (await (await lambda.api('/api/v1/functions')).json()) as { functions: { name: string }[] };
  t.false(listed.functions.some((fn) => fn.name === 'dashboard'));
  t.false(fs.existsSync(path.join(lambda.dataDir, 'data', 'repos', 'dashboard.git')), 'a repository was left behind');
});
