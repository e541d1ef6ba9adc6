// Each function's link, made on first use: its internal overlay network, its relay's certificate (signed by the
// platform's authority) as swarm secrets, the relay's image and its service on the manager; and the authority the
// instances pin, as a swarm config.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { statusOf } from '../containers.js';
import { ensureAuthority, signRelayCertificate, type KeyPair } from './certificates.js';
import { AUTHORITY_LABEL, linkFilter, linkLabels, networkCreateArgs, relayServiceArgs, swarmName } from './link.js';
import { buildGoImage, goSource } from './go-image.js';
import type { SwarmGateways } from './gateway.js';
import { LABELS } from '../../instances/labels.js';

const run = promisify(execFile);
/** The relay's source, beside this module. */
const RELAY_SOURCE = goSource(new URL('./relay/main.go', import.meta.url), 'server/engine/swarm/relay/main.go');

/** A swarm config or secret as a service's task template names it. */
export interface SwarmObject {
  id: string;
  name: string;
}

export interface SwarmLinks {
  /**
   * The function's network and relay exist (made now when they do not), the relay's certificate signed by the
   * platform's authority of now (a relay another one signed is replaced).
   */
  ensure(fn: string): Promise<void>;
  /** The platform's authority as a swarm config, which every instance mounts and pins. */
  authority(): Promise<SwarmObject>;
  /**
   * Removes the function's link (its instances are gone): its relay's service and secrets, its network, the
   * gateway's listener and folder, the relay's certificate. Never throws for what is already gone.
   */
  drop(fn: string): Promise<void>;
  /**
   * At start, before any instance starts: drops the links of functions not in `known` (deleted, or a first deploy
   * that failed, while no server ran), and removes this server's swarm secrets and configs no service uses (an
   * instance's secret orphaned by a crash before its service was made, a replaced relay's). Returns how many.
   */
  sweep(known: string[]): Promise<number>;
}

/** The secrets and configs a service's tasks mount. */
function heldBy(service: Docker.Service): { secrets: string[]; configs: string[] } {
  const spec = (service.Spec?.TaskTemplate as { ContainerSpec?: { Secrets?: { SecretID?: string }[]; Configs?: { ConfigID?: string }[] } } | undefined)?.ContainerSpec;
  return {
    secrets: (spec?.Secrets ?? []).flatMap((held) => held.SecretID ?? []),
    configs: (spec?.Configs ?? []).flatMap((held) => held.ConfigID ?? []),
  };
}

/** How long a network's removal is tried again while the tasks of the services just removed still hold it. */
const NETWORK_RELEASE_MS = 30_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const hashOf = (data: string | Buffer, length: number) => createHash('sha256').update(data).digest('hex').slice(0, length);

/** The docker CLI against the server's engine (DOCKER_HOST, as dockerode reads it). */
async function dockerCli(args: string[], input?: Buffer): Promise<string> {
  const child = run('docker', args, { timeout: 120_000, maxBuffer: 16 << 20, encoding: 'utf8' });
  if (input) child.child.stdin?.end(input);
  return (await child).stdout;
}

/** Creates a swarm secret or config unless one of that name is there; the swarm keeps them, so it may be from a run before. */
async function createOnce(make: () => Promise<unknown>): Promise<void> {
  await make().catch((error: { statusCode?: number }) => {
    if (error.statusCode !== 409) throw error;
  });
}

export function createSwarmLinks(docker: Docker, dataDir: string, serverId: string, gateways: SwarmGateways): SwarmLinks {
  const swarmDir = path.join(dataDir, 'swarm');
  const relaysDir = path.join(swarmDir, 'relays');
  const ours = { label: [`${LABELS.server}=${serverId}`] };
  const startedAt = Date.now();
  const made = new Map<string, Promise<void>>();
  let authority: Promise<SwarmObject> | undefined;
  let relayImage: Promise<string> | undefined;

  // One making at a time: the config and a relay's certificate, made at once by a start, must come from the same
  // authority, and two makings of a new one would each write their own.
  let making: Promise<KeyPair> | undefined;
  const authorityPair = (): Promise<KeyPair> => {
    making ??= ensureAuthority(path.join(swarmDir, 'authority')).finally(() => (making = undefined));
    return making;
  };

  const authorityConfig = async (): Promise<SwarmObject> => {
    const pair = await authorityPair();
    const pem = fs.readFileSync(pair.certFile);
    // Named by its content: a new authority (a restored data folder) is a new config, never a stale one.
    const name = `lambda-authority-${hashOf(pem, 12)}`;
    await createOnce(() => docker.createConfig({ Name: name, Data: pem.toString('base64'), Labels: { [LABELS.server]: serverId } }));
    const info = (await docker.getConfig(name).inspect()) as { ID: string };
    return { id: info.ID, name };
  };

  const secret = async (fn: string, name: string, file: string): Promise<void> => {
    await createOnce(() => docker.createSecret({ Name: name, Data: fs.readFileSync(file).toString('base64'), Labels: linkLabels(fn, serverId, 'relay-secret') }));
  };

  /** A service (a relay, an instance), then the secrets it held (free once it is gone). */
  const removeService = async (service: Docker.Service): Promise<void> => {
    await docker.getService(service.ID).remove().catch(() => {});
    await Promise.all(heldBy(service).secrets.map((id) => docker.getSecret(id).remove().catch(() => {})));
  };

  /** Every service of this server's labelled with function `fn`, each with its secrets. */
  const removeServices = async (fn: string): Promise<void> => {
    const services = await docker.listServices({ filters: { label: [`${LABELS.server}=${serverId}`, `${LABELS.fn}=${fn}`] } });
    await Promise.all(services.map(removeService));
  };

  /** The function's network, found by its labels; made when there is none. */
  const ensureNetwork = async (fn: string): Promise<void> => {
    const find = async () => (await docker.listNetworks({ filters: linkFilter(serverId, 'network', fn) })).length > 0;
    if (await find()) return;
    await dockerCli(networkCreateArgs(fn, serverId)).catch(async (error: Error) => {
      // Made meanwhile is fine; a network of that name that is not this server's function's is never joined.
      if (!/already exists/.test(error.message) || !(await find())) throw error;
    });
  };

  /** The relay, signed by `authority`; made unless one with that authority's fingerprint is there. */
  const ensureRelay = async (fn: string, socketDir: string, authority: KeyPair): Promise<void> => {
    const fingerprint = hashOf(fs.readFileSync(authority.certFile), 16);
    const [relay, ...others] = await docker.listServices({ filters: linkFilter(serverId, 'relay', fn) });
    if (relay && others.length === 0 && relay.Spec?.Labels?.[AUTHORITY_LABEL] === fingerprint) return;
    // Another authority signed it (a data folder restored without its authority): instances pinning this one
    // would never take it.
    for (const stale of [relay, ...others]) if (stale) await removeService(stale);
    const pair = await signRelayCertificate(authority, relaysDir, fn);
    const suffix = hashOf(fs.readFileSync(pair.certFile), 8);
    const certSecret = swarmName('lambda-relay-', fn, `-${suffix}-pem`);
    const keySecret = swarmName('lambda-relay-', fn, `-${suffix}-key`);
    try {
      await secret(fn, certSecret, pair.certFile);
      await secret(fn, keySecret, pair.keyFile);
      relayImage ??= buildGoImage(docker, RELAY_SOURCE, 'relay', swarmDir);
      relayImage.catch(() => (relayImage = undefined));
      await dockerCli(relayServiceArgs({ fn, serverId, authority: fingerprint, image: await relayImage, socketDir, certSecret, keySecret }));
    } catch (error) {
      // Each try signs a new certificate: a failed one leaves no secrets behind.
      await Promise.all([certSecret, keySecret].map((name) => docker.getSecret(name).remove().catch(() => {})));
      throw error;
    }
  };

  const makeLink = async (fn: string): Promise<void> => {
    const socketDir = gateways.open(fn);
    await ensureNetwork(fn);
    await ensureRelay(fn, socketDir, await authorityPair());
  };

  /**
   * Removes the function's networks, trying again while the tasks of the services just removed still hold them, until
   * the manager lists none (a node's own copy lingers until its last container has left).
   */
  const removeNetworks = async (fn: string): Promise<void> => {
    for (let round = 0, until = Date.now() + NETWORK_RELEASE_MS; ; round += 1, await sleep(500)) {
      const networks = await docker.listNetworks({ filters: linkFilter(serverId, 'network', fn) });
      if (networks.length === 0) return;
      // A service made while the first round ran (a start that was already placing) is removed too.
      if (round > 0) await removeServices(fn);
      const errors = await Promise.all(networks.map((network) => docker.getNetwork(network.Id).remove().then(() => undefined, (failed: unknown) => failed)));
      const error = errors.find((failed) => failed !== undefined && statusOf(failed) !== 404);
      if (Date.now() > until) throw error ?? new Error(`the network of ${fn} is still listed`);
    }
  };

  const drop = async (fn: string): Promise<void> => {
    // A start still making the link finishes first, so nothing it makes is left behind.
    const pending = made.get(fn);
    made.delete(fn);
    await pending?.catch(() => {});
    gateways.drop(fn);
    try {
      // Every service of the function's: its relay, and any cell or instance left (a cell given up while it was
      // made), whose task would hold the network; each with the secrets it held.
      await removeServices(fn);
      const secrets = await docker.listSecrets({ filters: linkFilter(serverId, 'relay-secret', fn) });
      await Promise.all(secrets.map((left) => docker.getSecret(left.ID).remove().catch(() => {})));
      await removeNetworks(fn);
    } finally {
      // The relay's certificate goes even when the network stays (then drop throws): nothing is left to a restart.
      for (const end of ['pem', 'key']) fs.rmSync(path.join(relaysDir, `${fn}.${end}`), { force: true });
    }
  };

  /** This server's secrets and configs that no service of its uses. */
  const sweepUnused = async (): Promise<number> => {
    const services = await docker.listServices({ filters: ours });
    const used = new Set(services.flatMap((service) => Object.values(heldBy(service)).flat()));
    // One this process made may be a start's, between its secret and its service: only an earlier process's are left over.
    const left = (object: { ID: string; CreatedAt?: string }) => !used.has(object.ID) && !(Date.parse(object.CreatedAt ?? '') >= startedAt);
    const secrets = (await docker.listSecrets({ filters: ours })).filter(left);
    const configs = (await docker.listConfigs({ filters: ours })).filter(left);
    await Promise.all([
      ...secrets.map((unused) => docker.getSecret(unused.ID).remove().catch(() => {})),
      ...configs.map((unused) => docker.getConfig(unused.ID).remove().catch(() => {})),
    ]);
    // The authority's config is made again when an instance next needs it.
    if (configs.length > 0) authority = undefined;
    return secrets.length + configs.length;
  };

  const sweep = async (known: string[]): Promise<number> => {
    const keep = new Set(known);
    const linked = new Set<string>();
    for (const part of ['network', 'relay', 'relay-secret'] as const) {
      const labelled = part === 'network'
        ? (await docker.listNetworks({ filters: linkFilter(serverId, part) })).map((network) => network.Labels)
        : part === 'relay'
          ? (await docker.listServices({ filters: linkFilter(serverId, part) })).map((service) => service.Spec?.Labels)
          : (await docker.listSecrets({ filters: linkFilter(serverId, part) })).map((left) => left.Spec?.Labels);
      for (const labels of labelled) if (labels?.[LABELS.fn]) linked.add(labels[LABELS.fn]);
    }
    let removed = 0;
    for (const fn of linked) {
      // A link this process is making or made is a function's it serves now (a push during the start), not a leftover.
      if (keep.has(fn) || made.has(fn)) continue;
      await drop(fn);
      removed += 1;
    }
    removed += gateways.sweep(known);
    if (fs.existsSync(relaysDir)) {
      for (const file of fs.readdirSync(relaysDir)) {
        const fn = file.replace(/\.(pem|key)$/, '');
        if (!keep.has(fn) && !made.has(fn)) fs.rmSync(path.join(relaysDir, file), { force: true });
      }
    }
    return removed + (await sweepUnused());
  };

  return {
    ensure(fn) {
      let link = made.get(fn);
      if (!link) {
        link = makeLink(fn);
        made.set(fn, link);
        link.catch(() => made.delete(fn));
      }
      return link;
    },
    authority() {
      authority ??= authorityConfig();
      authority.catch(() => (authority = undefined));
      return authority;
    },
    drop,
    sweep,
  };
}
