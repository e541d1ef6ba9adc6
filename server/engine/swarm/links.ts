// Each function's link, made on first use: its internal overlay network, its relay's certificate (signed by the
// platform's authority) as swarm secrets, the relay's image and its service on the manager; and the authority the
// instances pin, as a swarm config.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { ensureAuthority, signRelayCertificate } from './certificates.js';
import { buildGoImage, goSource } from './go-image.js';
import { functionNetwork, networkCreateArgs, relayServiceArgs } from './link.js';
import type { SwarmGateways } from './gateway.js';

const run = promisify(execFile);
/** The relay's source, beside this module. */
const RELAY_SOURCE = goSource(new URL('./relay/main.go', import.meta.url), 'server/engine/swarm/relay/main.go');

/** A swarm config or secret as a service's task template names it. */
export interface SwarmObject {
  id: string;
  name: string;
}

export interface SwarmLinks {
  /** The function's network and relay exist (made now when they do not). */
  ensure(fn: string): Promise<void>;
  /** The platform's authority as a swarm config, which every instance mounts and pins. */
  authority(): Promise<SwarmObject>;
}

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

export function createSwarmLinks(docker: Docker, dataDir: string, gateways: SwarmGateways): SwarmLinks {
  const swarmDir = path.join(dataDir, 'swarm');
  const made = new Map<string, Promise<void>>();
  let authority: Promise<SwarmObject> | undefined;
  let relayImage: Promise<string> | undefined;

  const authorityConfig = async (): Promise<SwarmObject> => {
    const pair = await ensureAuthority(path.join(swarmDir, 'authority'));
    const pem = fs.readFileSync(pair.certFile);
    // Named by its content: a new authority (a restored data folder) is a new config, never a stale one.
    const name = `lambda-authority-${hashOf(pem, 12)}`;
    await createOnce(() => docker.createConfig({ Name: name, Data: pem.toString('base64'), Labels: { 'lambda.managed': 'true' } }));
    const info = (await docker.getConfig(name).inspect()) as { ID: string };
    return { id: info.ID, name };
  };

  const secret = async (name: string, file: string): Promise<void> => {
    await createOnce(() => docker.createSecret({ Name: name, Data: fs.readFileSync(file).toString('base64'), Labels: { 'lambda.managed': 'true' } }));
  };

  const makeLink = async (fn: string): Promise<void> => {
    const socketDir = gateways.open(fn);
    const network = functionNetwork(fn);
    const networks = await docker.listNetworks({ filters: { name: [network] } });
    if (!networks.some((found) => found.Name === network)) await dockerCli(networkCreateArgs(fn)).catch(async (error: Error) => {
      // Another start made it meanwhile.
      if (!/already exists/.test(error.message)) throw error;
    });
    const relay = `lambda-relay-${fn}`;
    const services = await docker.listServices({ filters: { name: [relay] } });
    if (services.some((found) => found.Spec?.Name === relay)) return;
    const pair = await signRelayCertificate(await ensureAuthority(path.join(swarmDir, 'authority')), path.join(swarmDir, 'relays'), fn);
    const suffix = hashOf(fs.readFileSync(pair.certFile), 8);
    const certSecret = `${relay}-${suffix}-pem`;
    const keySecret = `${relay}-${suffix}-key`;
    await secret(certSecret, pair.certFile);
    await secret(keySecret, pair.keyFile);
    // The relay: a static Go binary alone in an image FROM scratch, built here once per source.
    relayImage ??= buildGoImage(docker, RELAY_SOURCE, 'relay', swarmDir);
    relayImage.catch(() => (relayImage = undefined));
    await dockerCli(relayServiceArgs({ fn, image: await relayImage, socketDir, certSecret, keySecret }));
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
  };
}
