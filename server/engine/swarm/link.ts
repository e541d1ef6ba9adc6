// The link between a function's instances on any node and the gateway on the manager: per function an internal
// overlay network, and on it a relay of the platform's, on the manager, that ends the instances' TLS connections and
// joins each to that function's gateway socket. Here: the engine's arguments for both.
import { RELAY_HOST } from './certificates.js';

/** The port the relay listens on, on its function's network only. */
export const RELAY_PORT = 7443;
/** Connections one relay holds at once; an instance that opens more is refused rather than growing the relay. */
export const RELAY_MAX_CONNECTIONS = 256;
/** Where the relay sees its function's gateway socket folder (bind-mounted, read-only: connecting needs no write). */
export const RELAY_SOCKET_DIR = '/run/lambda-gateway';
/** The gateway's socket in that folder. */
export const GATEWAY_SOCKET = 'gateway.sock';
/** The relay's uid: no user of the manager's, and the owner of the certificate's key inside its task. */
export const RELAY_UID = 10001;

const FUNCTION = /^[a-z0-9][a-z0-9-]{0,62}$/;

function checked(fn: string): string {
  if (!FUNCTION.test(fn)) throw new Error(`not a function name: ${fn}`);
  return fn;
}

/** The function's own network. */
export function functionNetwork(fn: string): string {
  return `lambda-fn-${checked(fn)}`;
}

/**
 * `docker network create` for a function's network. `--internal`: no gateway bridge, so a task on it has no route to
 * any node's addresses (the engines' swarm ports, the registry, the host's services) nor out; only the function's
 * other instances and its relay are there. Not `--opt encrypted`: its IPsec needs the iptables this engine runs
 * without, so the link's TLS is what protects the traffic between nodes.
 */
export function networkCreateArgs(fn: string): string[] {
  return ['network', 'create', '--driver', 'overlay', '--internal', '--label', `lambda.function=${checked(fn)}`, functionNetwork(fn)];
}

export interface RelayService {
  fn: string;
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
    'service', 'create', '--detach', '--name', `lambda-relay-${fn}`,
    '--label', `lambda.function=${fn}`,
    '--constraint', 'node.role==manager',
    // The name resolves to the task itself: a service's virtual address is balanced by IPVS with marks set through
    // iptables, which this engine runs without, and a relay is one task anyway.
    '--endpoint-mode', 'dnsrr',
    '--network', `name=${functionNetwork(fn)},alias=${RELAY_HOST}`,
    '--mount', `type=bind,src=${relay.socketDir},dst=${RELAY_SOCKET_DIR},readonly`,
    '--secret', `source=${relay.certSecret},target=relay.pem,uid=${RELAY_UID},mode=0400`,
    '--secret', `source=${relay.keySecret},target=relay.key,uid=${RELAY_UID},mode=0400`,
    '--user', `${RELAY_UID}:${RELAY_UID}`, '--read-only', '--cap-drop', 'ALL',
    '--limit-memory', '64m', '--limit-pids', '64',
    // The relay's image is the platform's own, built on the manager; there is nothing to resolve in a registry.
    '--no-resolve-image',
    relay.image,
    `:${RELAY_PORT}`, '/run/secrets/relay.pem', '/run/secrets/relay.key', `${RELAY_SOCKET_DIR}/${GATEWAY_SOCKET}`, String(RELAY_MAX_CONNECTIONS),
  ];
}
