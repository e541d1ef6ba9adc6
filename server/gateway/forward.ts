// Function traffic: sends a public HTTP request to the function's live instance and streams its answer back.
import type http from 'node:http';
import { LambdaError } from '../errors.js';
import { assertFunctionName } from '../core/names.js';
import type { Dispatch } from '../runtime/dispatch.js';
import { INTERNAL_HEADER_PREFIX } from '../runtime/protocol.js';
import { readBody } from '../http/body.js';
import { sendError } from '../http/errors.js';

/** AWS Lambda's synchronous payload limit. */
export const MAX_BODY_BYTES = 6 * 1024 * 1024;

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

export interface ForwardTarget {
  name: string;
  path: string;
  prefix: string;
}

export type FunctionExists = (name: string) => boolean;

export function createForwarder(dispatch: Dispatch, exists: FunctionExists, maxBody = MAX_BODY_BYTES) {
  return async (req: http.IncomingMessage, res: http.ServerResponse, target: ForwardTarget): Promise<void> => {
    try {
      const name = assertFunctionName(target.name);
      if (!exists(name)) throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
      const body = await readBody(req, maxBody);
      await dispatch.stream(
        name,
        { method: req.method ?? 'GET', path: target.path, headers: forwardHeaders(req, target.prefix, body.length), body: body.length > 0 ? body : undefined },
        (statusCode, upstream) => {
          const headers: Record<string, string | string[]> = {};
          for (const key in upstream) {
            const value = upstream[key];
            if (value !== undefined && !HOP_BY_HOP.has(key) && !key.startsWith(INTERNAL_HEADER_PREFIX)) headers[key] = value;
          }
          res.writeHead(statusCode, headers);
          return res;
        },
      );
    } catch (error) {
      sendError(res, error);
    }
  };
}

function forwardHeaders(req: http.IncomingMessage, prefix: string, length: number): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(key) || key === 'content-length' || key.startsWith(INTERNAL_HEADER_PREFIX)) continue;
    headers[key] = value;
  }
  const client = req.socket.remoteAddress ?? '127.0.0.1';
  headers['x-forwarded-for'] = req.headers['x-forwarded-for'] ? `${String(req.headers['x-forwarded-for'])}, ${client}` : client;
  headers['x-forwarded-host'] = req.headers.host ?? '';
  headers['x-forwarded-proto'] = 'http';
  if (prefix) headers['x-forwarded-prefix'] = prefix;
  if (length > 0) headers['content-length'] = String(length);
  return headers;
}
