// The verb table: each entry registers the one command its name says, so SSH's permission and help match the CLI.
import { Readable } from 'node:stream';
import test from 'ava';
import { Command } from 'commander';
import { SSH_TABLE, VERBS } from './index.js';

test('each verb registers exactly the command it is named after, and no two share a name', (t) => {
  const names: string[] = [];
  for (const verb of VERBS) {
    const program = new Command();
    verb.register(program, () => ({ io: { stdout: { write: () => true }, stderr: { write: () => true }, stdin: Readable.from([]), env: {} }, json: false }));
    t.deepEqual(program.commands.map((command) => command.name()), [verb.name], verb.name);
    t.is(program.commands[0]?.description(), verb.summary, verb.name);
    names.push(verb.name);
  }
  t.is(new Set(names).size, names.length);
});

test('every verb SSH refuses says why', (t) => {
  for (const verb of SSH_TABLE) if (verb.notOverSsh !== undefined) t.regex(verb.notOverSsh, /\w{3,}/, verb.name);
  t.deepEqual(SSH_TABLE.map((verb) => verb.name), VERBS.map((verb) => verb.name));
});
