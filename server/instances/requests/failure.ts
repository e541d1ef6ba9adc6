// InstanceFailure: the one error both ways of reaching an instance (undici clients, raw exchanges) throw when the
// instance itself failed, so dispatch.ts decides what to replace and what to retry from one type.
/**
 * `unreachable`: no connection to it could be had (stopped, exited, its socket gone), so the request never reached a
 * handler. `dropped`: the connection closed or broke while the request was on it. `malformed`: its answer is not one
 * well-framed HTTP/1.x response. `oversized`: its answer went on past what the host holds of one (answer-cap.ts).
 */
export type InstanceFailureKind = 'unreachable' | 'dropped' | 'malformed' | 'oversized';

export class InstanceFailure extends Error {
  override readonly name = 'InstanceFailure';

  constructor(
    readonly kind: InstanceFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Node's own socket error codes that mean the instance's end of a connection broke (the host never dials, so never a refusal). */
const SOCKET_FAILURES: Record<string, InstanceFailureKind> = {
  ECONNRESET: 'dropped',
  EPIPE: 'dropped',
};

/** `error` as an InstanceFailure when it is one or is one of Node's socket failures; otherwise `error` unchanged. */
export function socketFailure(error: unknown): unknown {
  if (error instanceof InstanceFailure) return error;
  const kind = SOCKET_FAILURES[(error as { code?: string } | undefined)?.code ?? ''];
  return kind ? new InstanceFailure(kind, (error as Error).message, { cause: error }) : error;
}
