// Every verb of `lambda`, in the order `lambda --help` lists them; the CLI registers them and SSH reads their permission.
import { deleteVerb } from './delete.js';
import { deployVerb } from './deploy.js';
import { envVerb } from './env.js';
import { gitCredentialVerb, setupGitVerb } from './git.js';
import { dlqVerb, invocationsVerb } from './invocations.js';
import { invokeVerb } from './invoke.js';
import { keysVerb } from './keys.js';
import { listVerb } from './list.js';
import { loginVerb } from './login.js';
import { logsVerb } from './logs.js';
import { metricsVerb } from './metrics.js';
import { nodesVerb } from './nodes.js';
import { releasesVerb } from './releases.js';
import { rollbackVerb } from './rollback.js';
import { scheduleVerb, schedulesVerb, unscheduleVerb } from './schedules.js';
import { tokensVerb } from './tokens.js';
import { validateVerb } from './validate.js';
import { versionsVerb } from './versions.js';
import type { Verb } from './verb.js';

export type { Verb } from './verb.js';

export const VERBS: readonly Verb[] = [
  deployVerb,
  invokeVerb,
  listVerb,
  logsVerb,
  metricsVerb,
  loginVerb,
  setupGitVerb,
  gitCredentialVerb,
  tokensVerb,
  versionsVerb,
  rollbackVerb,
  releasesVerb,
  deleteVerb,
  validateVerb,
  envVerb,
  keysVerb,
  scheduleVerb,
  schedulesVerb,
  unscheduleVerb,
  invocationsVerb,
  dlqVerb,
  nodesVerb,
];

/** What the SSH server needs of a verb: plain data, so it never calls into the CLI itself. */
export interface SshVerb {
  readonly name: string;
  readonly summary: string;
  /** Absent: SSH runs it. */
  readonly notOverSsh?: string;
}

export const SSH_TABLE: readonly SshVerb[] = VERBS.map((verb) => ({ name: verb.name, summary: verb.summary, ...(verb.ssh ? {} : { notOverSsh: verb.notOverSsh }) }));

export { unknownVerbMessage, unknownVerbOf } from './unknown.js';
