// The link between a function's instances on any node and the gateway on the manager: per function an internal
// overlay network, and on it a relay of the platform's, on the manager, that ends the instances' TLS connections and
// joins each to that function's gateway socket. Here: the engine's arguments for both.
import { createHash } from 'node:crypto';
import { LABELS } from '../../instances/labels.js';
import { RELAY_HOST } from './certificates.js';

/** The port the relay listens on, on its function's network only. */
export const RELAY_PORT = 7443;
/**
 * Connections one relay holds at once; more are refused rather than growing the relay. Room for ~70 busy instances at
 * the default concurrency (8 request connections, 4 spare, 2 for output each), in its memory (~70 KB a pair).
 */
export const RELAY_MAX_CONNECTIONS = 1024;
/**
 * Connections one source address (an instance: each task has its own) may hold on a relay, so one cannot fill it:
 * above what an instance holds when busy (the host's 64 request connections to it, the shim's 4 spare ones waiting,
 * its 2 output connections), well below the relay's whole room.
 */
export const RELAY_MAX_PER_SOURCE = 72;
/** Where the relay sees its function's gateway socket folder (bind-mounted, read-only: connecting needs no write). */
export const RELAY_SOCKET_DIR = '/run/lambda-gateway';
/** The gateway's socket in that folder. */
export const GATEWAY_SOCKET = 'gateway.sock';
/** The relay's uid: no user of the manager's, and the owner of the certificate's key inside its task. */
export const RELAY_UID = 10001;

/** What each swarm object of a link is, beside `lambda.function` and `lambda.server`: it is found by these, never by its name. */
export const LINK_LABEL = 'lambda.link';
export type LinkPart = 'network' | 'relay' | 'relay-secret';
/** On a relay's service: the fingerprint of the authority that signed its certificate (a new authority replaces it). */
export const AUTHORITY_LABEL = 'lambda.authority';

const FUNCTION = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** A service's name is at most 63 characters, a secret's 64: every name made here fits the shorter. */
const NAME_MAX = 63;

function checked(fn: string): string {
  if (!FUNCTION.test(fn)) throw new Error(`not a function name: ${fn}`);
  return fn;
}

/**
 * `<prefix><fn><suffix>` when it fits the swarm's names, else the start of the name and `_` and a hash of the whole
 * name: a function's name never holds `_`, so a shortened name is never another function's whole one.
 */
export function swarmName(prefix: string, fn: string, suffix = ''): string {
  const whole = `${prefix}${checked(fn)}${suffix}`;
  if (whole.length <= NAME_MAX) return whole;
  const hash = createHash('sha256').update(fn).digest('hex').slice(0, 12);
  return `${prefix}${fn.slice(0, NAME_MAX - prefix.length - suffix.length - hash.length - 1)}_${hash}${suffix}`;
}

/** The labels of a link's swarm object of function `fn`. */
export function linkLabels(fn: string, serverId: string, part: LinkPart): Record<string, string> {
  return { [LABELS.fn]: checked(fn), [LABELS.server]: serverId, [LINK_LABEL]: part };
}

/** A filter (dockerode's `filters`) for the link's objects of `part`: of function `fn`, or of every function. */
export function linkFilter(serverId: string, part: LinkPart, fn?: string): { label: string[] } {
  return { label: [`${LABELS.server}=${serverId}`, `${LINK_LABEL}=${part}`, ...(fn === undefined ? [] : [`${LABELS.fn}=${checked(fn)}`])] };
}

const labelArgs = (labels: Record<string, string>): string[] => Object.entries(labels).flatMap(([key, value]) => ['--label', `${key}=${value}`]);

/** The function's own network. */
export function functionNetwork(fn: string): string {
  return swarmName('lambda-fn-', fn);
}

/** The service of the function's relay. */
export function relayName(fn: string): string {
  return swarmName('lambda-relay-', fn);
}

/**
 * `docker network create` for a function's network. `--internal`: no gateway bridge, so a task on it has no route to
 * any node's addresses (the engines' swarm ports, the registry, the host's services) nor out; only the function's
 * other instances and its relay are there. Not `--opt encrypted`: its IPsec needs the iptables this engine runs
 * without, so the link's TLS is what protects the traffic between nodes.
 */
export function networkCreateArgs(fn: string, serverId: string): string[] {
  return ['network', 'create', '--driver', 'overlay', '--internal', ...labelArgs(linkLabels(fn, serverId, 'network')), functionNetwork(fn)];
}

export interface RelayService {
  fn: string;
  serverId: string;
  /** The fingerprint of the authority that signed the relay's certificate. */
  authority: string;
  image: string;
  /** The host folder holding this function's gateway socket, and nothing else. */
  socketDir: string;
  /** Swarm secrets holding the relay's certificate and key (the engine sends them only to the node the task runs on). */
  certSecret: string;
  keySecret: string;
}

/** `docker service create` for a function's relay: on the manager, on the function's network as `RELAY_HOST`. */
export function relayServiceArgs(relay: RelayService): string[] {
  const fn = checked(relay.fn);
  return [
    'service', 'create', '--detach', '--name', relayName(fn),
    ...labelArgs({ ...linkLabels(fn, relay.serverId, 'relay'), [AUTHORITY_LABEL]: relay.authority }),
    '--constraint', 'node.role==manager',
    // The name resolves to the task itself: a service's virtual address is balanced by IPVS with marks set through
    // iptables, which this engine runs without, and a relay is one task anyway.
    '--endpoint-mode', 'dnsrr',
    '--network', `name=${functionNetwork(fn)},alias=${RELAY_HOST}`,
    '--mount', `type=bind,src=${relay.socketDir},dst=${RELAY_SOCKET_DIR},readonly`,
    '--secret', `source=${relay.certSecret},target=relay.pem,uid=${RELAY_UID},mode=0400`,
    '--secret', `source=${relay.keySecret},target=relay.key,uid=${RELAY_UID},mode=0400`,
    '--user', `${RELAY_UID}:${RELAY_UID}`, '--read-only', '--cap-drop', 'ALL',
    '--limit-memory', '128m', '--limit-pids', '64',
    // The relay's image is the platform's own, built on the manager; there is nothing to resolve in a registry.
    '--no-resolve-image',
    relay.image,
    `:${RELAY_PORT}`, '/run/secrets/relay.pem', '/run/secrets/relay.key', `${RELAY_SOCKET_DIR}/${GATEWAY_SOCKET}`,
    String(RELAY_MAX_CONNECTIONS), String(RELAY_MAX_PER_SOURCE),
  ];
}
