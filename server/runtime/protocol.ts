// The host ↔ shim protocol's header names (buildpacks/*/shim.* use the same literals).

/** Tells the shim what a call is: "direct" (body is the JSON event) or "health". Never accepted from public traffic. */
export const INVOKE_HEADER = 'x-lambda-internal-invoke';
/** Set by the shim on a direct invoke whose handler threw. */
export const ERROR_HEADER = 'x-lambda-internal-error';
export const REQUEST_ID_HEADER = 'x-lambda-internal-request-id';
/** Every header with this prefix is stripped from public requests and responses. */
export const INTERNAL_HEADER_PREFIX = 'x-lambda-internal-';
