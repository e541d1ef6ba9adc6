// The host ↔ shim protocol's names: its two sockets and its headers (buildpacks/*/shim/ use the same literals).

/** The socket in an instance's folder the host listens on and the shim dials to serve requests. */
export const HOST_SOCKET_NAME = 'host.sock';
/** Beside it, the socket the shim sends the function's output to (server/instances/log-socket.ts). */
export const LOG_SOCKET_NAME = 'log.sock';

/**
 * Tells the shim what a call is: "direct" (body is the JSON event), "health", and a cell's "warm" and "init". The shim
 * honours it only beside SECRET_HEADER carrying its instance's secret, so public traffic cannot pose as one whatever
 * headers it sends: public requests go on the host's stream path, which never adds the secret.
 */
export const INVOKE_HEADER = 'x-lambda-internal-invoke';
/** The instance's own secret (the first line of its stdin at boot, server/engine/containers.ts): marks the host's internal calls. */
export const SECRET_HEADER = 'x-lambda-internal-secret';
/** Set by the shim on a call of the host's (a direct invoke, a queued HTTP call) whose handler threw; the body has its error. */
export const ERROR_HEADER = 'x-lambda-internal-error';
export const REQUEST_ID_HEADER = 'x-lambda-internal-request-id';
/** Every header with this prefix is stripped from public requests and responses. */
export const INTERNAL_HEADER_PREFIX = 'x-lambda-internal-';
