// The lint rule that keeps the dashboard's DOM text-only: each way of turning a string into HTML or code is refused
// in dashboard/, so none can creep back into the pages.
import path from 'node:path';
import test from 'ava';
import { ESLint } from 'eslint';
import { ROOT } from './helpers/lambda.js';

const eslint = new ESLint({ cwd: ROOT });

/** The rules `code` breaks when it stands in a dashboard source file. */
async function broken(code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, 'dashboard', 'src', 'dom.ts') });
  return (result?.messages ?? []).map((message) => message.ruleId ?? message.message);
}

const SINKS: Record<string, string> = {
  innerHTML: 'export const f = (el: HTMLElement, s: string) => { el.innerHTML = s; };',
  outerHTML: 'export const f = (el: HTMLElement, s: string) => { el.outerHTML = s; };',
  insertAdjacentHTML: "export const f = (el: HTMLElement, s: string) => el.insertAdjacentHTML('beforeend', s);",
  'document.write': 'export const f = (s: string) => document.write(s);',
  DOMParser: "export const f = (s: string) => new DOMParser().parseFromString(s, 'text/html');",
  createContextualFragment: 'export const f = (s: string) => document.createRange().createContextualFragment(s);',
  eval: 'export const f = (s: string): unknown => eval(s);',
  Function: 'export const f = (s: string): unknown => new Function(s)();',
  'an inline handler attribute': "export const f = (el: HTMLElement, s: string) => el.setAttribute('onclick', s);",
};

for (const [sink, code] of Object.entries(SINKS)) {
  test(`dashboard code may not use ${sink}`, async (t) => {
    t.true((await broken(code)).some((rule) => /^no-(restricted|eval|new-func|implied-eval)/.test(rule)), sink);
  });
}

test('text through textContent and createElement passes', async (t) => {
  t.deepEqual(await broken("export const f = (s: string) => { const el = document.createElement('span'); el.textContent = s; return el; };\n"), []);
});
