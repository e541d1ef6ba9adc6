// Which headers pass between a public client and a function's instance, on both of the gateway's paths.
import { INTERNAL_HEADER_PREFIX } from '../instances/protocol.js';

// Hop-by-hop headers, plus `expect`: the body is read in full before the call, so the instance never has to agree to it
// (Node's server already answered "100 Continue"), and the x-forwarded-* that the gateway sets itself.
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'content-length',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-prefix',
]);
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);
// `Service-Worker-Allowed` widens a service worker's scope past its script's folder: on /fn/ paths that would reach
// every other function, the REST API and anything else the shared origin serves, so no function may send it.
const NOT_ANSWERED = new Set([...HOP_BY_HOP, 'service-worker-allowed']);

/** A client's request header the instance gets (x-forwarded-for is extended, not dropped: the caller handles it). */
export function forwardsRequestHeader(name: string): boolean {
  return !NOT_FORWARDED.has(name) && !name.startsWith(INTERNAL_HEADER_PREFIX);
}

/** An instance's answer header the client gets. */
export function forwardsResponseHeader(name: string): boolean {
  return !NOT_ANSWERED.has(name) && !name.startsWith(INTERNAL_HEADER_PREFIX);
}

/** The x-forwarded-* the instance gets: `prior` is the client's own x-forwarded-for, if it sent one. */
export function forwardedHeaders(prior: string | undefined, client: string, host: string, prefix: string): [string, string][] {
  const headers: [string, string][] = [
    ['x-forwarded-for', prior ? `${prior}, ${client}` : client],
    ['x-forwarded-host', host],
    ['x-forwarded-proto', 'http'],
  ];
  if (prefix) headers.push(['x-forwarded-prefix', prefix]);
  return headers;
}
