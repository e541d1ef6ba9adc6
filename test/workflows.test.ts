// The GitHub workflows: valid by a workflow validator, and saying what CI and the deploy promise (triggers, the
// commit deployed, the secrets used, the VM's host key pinned).
import fs from 'node:fs';
import path from 'node:path';
import { validateWorkflow } from '@action-validator/core';
import test from 'ava';
import { parse } from 'yaml';
import { ROOT } from './helpers/lambda.js';

type Step = { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string>; if?: string };
type Job = { 'runs-on': string; if?: string; steps: Step[]; env?: Record<string, string> };
type Workflow = { name: string; on: Record<string, unknown>; permissions?: Record<string, string>; jobs: Record<string, Job> };

const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8');
const CI = '.github/workflows/ci.yml';
const DEPLOY = '.github/workflows/deploy.yml';
const onlyJob = (workflow: Workflow): Job => {
  const jobs = Object.values(workflow.jobs);
  if (jobs.length !== 1) throw new Error(`expected one job, found ${jobs.length}`);
  return jobs[0] as Job;
};
/** The index of the first step whose `run` matches, or -1. */
const stepIndex = (job: Job, pattern: RegExp): number => job.steps.findIndex((step) => pattern.test(step.run ?? ''));
/** Every `secrets.NAME` an expression in the file reads. */
const secretsOf = (text: string): string[] => [...new Set([...text.matchAll(/secrets\.([A-Za-z0-9_]+)/g)].map((m) => m[1] as string))].sort();

/** The secrets the deploy reads, as docs/operations.md lists them for an operator to add. */
const DEPLOY_SECRETS = ['LAMBDA_VM_HOST', 'LAMBDA_VM_KNOWN_HOSTS', 'LAMBDA_VM_PORT', 'LAMBDA_VM_SSH_KEY', 'LAMBDA_VM_USER'];

for (const file of [CI, DEPLOY]) {
  test(`${file} passes the workflow validator`, (t) => {
    t.deepEqual(validateWorkflow(read(file)).errors, []);
  });
}

test('the validator refuses a workflow with a mistake in it, so a pass above means something', (t) => {
  const broken = read(DEPLOY).replace('workflow_run:', 'workflow_runs:');
  t.not(validateWorkflow(broken).errors.length, 0);
});

test('CI runs npm ci then the README\'s test command on every push and pull request, on Ubuntu with Node 20', (t) => {
  const ci = parse(read(CI)) as Workflow;
  t.is(ci.name, 'CI');
  t.deepEqual(Object.keys(ci.on).sort(), ['pull_request', 'push']);
  t.is(ci.on.push, null, 'no branch filter: every push');
  t.is(ci.on.pull_request, null, 'no branch filter: every pull request');
  t.deepEqual(ci.permissions, { contents: 'read' });
  const job = onlyJob(ci);
  t.regex(job['runs-on'], /^ubuntu-/);
  const node = job.steps.find((step) => step.uses?.startsWith('actions/setup-node@'));
  t.is(node?.with?.['node-version'], 20);
  t.is(node?.with?.cache, 'npm');
  const install = stepIndex(job, /^npm ci\b/);
  const tools = stepIndex(job, /scripts\/ensure-test-tools\.sh/);
  const tests = stepIndex(job, /^npm test$/);
  t.true(install >= 0 && tools > install && tests > tools, 'npm ci, the browser and sshd, then npm test');
  t.deepEqual(secretsOf(read(CI)), [], 'CI runs pull requests: it reads no secret');
});

test('the deploy runs only after CI succeeded for a push to main of this repository, on that exact commit', (t) => {
  const deploy = parse(read(DEPLOY)) as Workflow;
  const ci = parse(read(CI)) as Workflow;
  t.deepEqual(Object.keys(deploy.on), ['workflow_run']);
  t.deepEqual(deploy.on.workflow_run, { workflows: [ci.name], types: ['completed'], branches: ['main'] });
  const job = onlyJob(deploy);
  const condition = (job.if ?? '').replace(/\s+/g, ' ');
  for (const clause of [
    "github.event.workflow_run.conclusion == 'success'",
    "github.event.workflow_run.head_branch == 'main'",
    // A fork's pull request from a branch it named main also completes CI with head_branch main.
    "github.event.workflow_run.event == 'push'",
    'github.event.workflow_run.head_repository.full_name == github.repository',
  ]) {
    t.true(condition.includes(clause), `the job's condition has ${clause}`);
  }
  t.false(/\|\|/.test(condition), 'every clause must hold');
  const checkout = job.steps.find((step) => step.uses?.startsWith('actions/checkout@'));
  t.is(checkout?.with?.ref, '${{ github.event.workflow_run.head_sha }}');
  t.is(job.env?.SHA, '${{ github.event.workflow_run.head_sha }}');
  const order = [/^npm ci\b/, /^npm run build$/, /scripts\/pack\.sh/, /scripts\/ship\.sh "\$SHA"/].map((pattern) => stepIndex(job, pattern));
  t.true(order.every((index, i) => index >= 0 && (i === 0 || index > (order[i - 1] as number))), `build, pack, ship in order: ${order.join(', ')}`);
});

test('the deploy reads the VM from secrets, only in the step that ships, never inline in a script', (t) => {
  const text = read(DEPLOY);
  t.deepEqual(secretsOf(text), DEPLOY_SECRETS);
  const job = onlyJob(parse(text) as Workflow);
  for (const step of job.steps) {
    t.false(/secrets\./.test(step.run ?? ''), 'a secret pasted into a script would be shell text');
    if (secretsOf(JSON.stringify(step.env ?? {})).length > 0) t.regex(step.run ?? '', /scripts\/ship\.sh/);
  }
  const operations = read('docs/operations.md');
  for (const name of DEPLOY_SECRETS) t.true(operations.includes(`\`${name}\``), `docs/operations.md names ${name}`);
});

test('the VM\'s host key is pinned: known_hosts from a secret, strict checking, no way around it', (t) => {
  const ship = read('scripts/ship.sh');
  for (const text of [read(DEPLOY), read(CI), ship, read('scripts/deploy.sh')]) {
    t.false(/StrictHostKeyChecking\s*=?\s*(no|accept-new|off)/i.test(text));
  }
  t.regex(ship, /-o StrictHostKeyChecking=yes/);
  t.regex(ship, /-o UserKnownHostsFile="\$known_hosts"/);
  t.regex(ship, /-o GlobalKnownHostsFile=\/dev\/null/);
  t.regex(read(DEPLOY), /printf '%s\\n' "\$KNOWN_HOSTS" >"\$RUNNER_TEMP\/vm_known_hosts"/);
  t.regex(read(DEPLOY), /LAMBDA_VM_KNOWN_HOSTS_FILE="\$RUNNER_TEMP\/vm_known_hosts"/);
});
