// REST adapters for SSH keys: GET /api/v1/ssh-keys, POST /api/v1/ssh-keys, DELETE /api/v1/ssh-keys/:id.
import { LambdaError } from '../errors.js';
import { addSshKey, listSshKeys, removeSshKey } from '../access/ssh-keys.js';
import { sendJson } from '../http/errors.js';
import { safeDecode } from '../http/routes.js';
import type { ApiRoute } from './types.js';
import { jsonObject } from './json-body.js';

/** One public key line is at most a few kB. */
const MAX_BODY_BYTES = 32 * 1024;

export const sshKeysRoutes: ApiRoute[] = [
  {
    method: 'GET',
    pattern: /^\/api\/v1\/ssh-keys\/?$/,
    async handle({ res, context }) {
      sendJson(res, 200, { keys: listSshKeys(context.deps) });
    },
  },
  {
    method: 'POST',
    pattern: /^\/api\/v1\/ssh-keys\/?$/,
    async handle({ req, res, context }) {
      const body = await context.readBody(req, MAX_BODY_BYTES);
      sendJson(res, 201, addSshKey(context.deps, keyFrom(body)));
    },
  },
  {
    method: 'DELETE',
    pattern: /^\/api\/v1\/ssh-keys\/(?<id>[^/]+)$/,
    async handle({ res, params, context }) {
      removeSshKey(context.deps, { id: safeDecode(params.id ?? '') });
      res.writeHead(204).end();
    },
  },
];

/** `{"publicKey": "ssh-ed25519 AAAA… comment", "name": "laptop"}`. */
function keyFrom(body: Buffer): { publicKey: string; name?: string } {
  const example = '{"publicKey": "ssh-ed25519 AAAA…", "name": "laptop"}';
  const { publicKey, name } = jsonObject(body.toString('utf8'), example);
  if (typeof publicKey !== 'string') throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: `the body must be a JSON object like ${example}` });
  if (name !== undefined && typeof name !== 'string') throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: '"name" must be a string' });
  return { publicKey, name };
}
