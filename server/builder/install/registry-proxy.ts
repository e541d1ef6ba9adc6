// The only way out of an install container: CONNECT tunnels to the package registry's host and port, never to
// loopback, private or this host's own addresses. TLS stays end to end between npm and the registry.
import net from 'node:net';
import os from 'node:os';
import dns from 'node:dns/promises';

export interface EgressRules {
  /** The one host and port a tunnel may reach, e.g. registry.npmjs.org and 443. */
  host: string;
  port: number;
  /** The host's own proxy (HTTPS_PROXY), asked to CONNECT in turn; direct when undefined. */
  upstream?: URL;
  /** Resolves a name to addresses; tests replace it. */
  lookup?: (host: string) => Promise<string[]>;
  /** Which resolved addresses may be dialled; the default allows public unicast addresses only. */
  allowAddress?: (address: string) => boolean;
}

/** Why a tunnel was refused, with the HTTP status to answer the CONNECT with. */
export class TunnelRefused extends Error {
  constructor(
    readonly status: 403 | 502,
    message: string,
  ) {
    super(message);
  }
}

const BLOCKED_V4: [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];
const BLOCKED_V6: [string, number][] = [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b:1::', 48],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
];

const blocked = new net.BlockList();
for (const [address, prefix] of BLOCKED_V4) blocked.addSubnet(address, prefix, 'ipv4');
for (const [address, prefix] of BLOCKED_V6) blocked.addSubnet(address, prefix, 'ipv6');

/** False for loopback, private (RFC 1918, ULA), link-local, CGNAT, multicast, unspecified and this host's own addresses. */
export function isPublicAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ip = mapped ? mapped[1] : address;
  const family = net.isIP(ip);
  if (family === 0) return false;
  if (blocked.check(ip, family === 4 ? 'ipv4' : 'ipv6')) return false;
  // NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits: judge that one.
  const nat64 = family === 6 ? embeddedNat64(ip) : undefined;
  if (nat64 !== undefined && !isPublicAddress(nat64)) return false;
  const own = Object.values(os.networkInterfaces()).flatMap((list) => list ?? []);
  return !own.some((entry) => entry.address.toLowerCase() === ip.toLowerCase());
}

function embeddedNat64(ip: string): string | undefined {
  const [head, tail = ''] = ip.toLowerCase().split('::');
  const parts = (list: string) => (list === '' ? [] : list.split(':'));
  let groups = [...parts(head), ...parts(tail)];
  const dotted = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(groups.at(-1) ?? '');
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    groups = [...groups.slice(0, -1), ((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
  }
  const full = ip.includes('::') ? [...parts(head), ...Array(8 - groups.length).fill('0'), ...groups.slice(parts(head).length)] : groups;
  if (full.length !== 8 || Number.parseInt(full[0], 16) !== 0x64 || Number.parseInt(full[1], 16) !== 0xff9b || full.slice(2, 6).some((g) => Number.parseInt(g, 16) !== 0)) return undefined;
  const high = Number.parseInt(full[6], 16);
  const low = Number.parseInt(full[7], 16);
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

async function defaultLookup(host: string): Promise<string[]> {
  return (await dns.lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);
}

/** Parses a CONNECT target `host:port` (IPv6 in brackets). */
export function parseTarget(target: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9.-]+)):(\d{1,5})$/i.exec(target);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: (match[1] ?? match[2]).toLowerCase().replace(/\.$/, ''), port };
}

/**
 * Opens a TCP connection to `target` when the rules allow it: the registry's host and port only, resolved here and
 * dialled by address so a name that points at loopback or a private network is refused. Throws TunnelRefused.
 */
export async function openTunnel(target: string, rules: EgressRules): Promise<net.Socket> {
  const parsed = parseTarget(target);
  if (!parsed || parsed.host !== rules.host.toLowerCase() || parsed.port !== rules.port) {
    throw new TunnelRefused(403, `refused a connection to ${target.slice(0, 100)}: only ${rules.host}:${rules.port} (the package registry) is reachable`);
  }
  if (rules.upstream) return connectVia(rules.upstream, `${rules.host}:${rules.port}`);
  const allow = rules.allowAddress ?? isPublicAddress;
  let addresses: string[];
  try {
    addresses = net.isIP(parsed.host) ? [parsed.host] : await (rules.lookup ?? defaultLookup)(parsed.host);
  } catch (error) {
    throw new TunnelRefused(502, `cannot resolve ${parsed.host}: ${(error as Error).message}`);
  }
  // Every address must be public: a name that also points inside could be made to flip between them.
  if (addresses.length === 0 || !addresses.every(allow)) {
    throw new TunnelRefused(403, `refused a connection to ${parsed.host}: it resolves to a loopback or private address (${addresses.join(', ')})`);
  }
  return dial(addresses[0], parsed.port);
}

function dial(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const onError = (error: Error) => reject(new TunnelRefused(502, `cannot reach ${host}:${port}: ${error.message}`));
    socket.setTimeout(30_000, () => socket.destroy(new Error('timed out')));
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.setTimeout(0);
      socket.off('error', onError);
      // The caller pipes it at once; until then a late error must not go unhandled.
      socket.on('error', () => socket.destroy());
      resolve(socket);
    });
  });
}

/** Asks the host's own proxy for a tunnel (the same way npm would have). */
async function connectVia(proxy: URL, target: string): Promise<net.Socket> {
  const socket = await dial(proxy.hostname.replace(/^\[|\]$/g, ''), Number(proxy.port || (proxy.protocol === 'https:' ? 443 : 80)));
  const auth = proxy.username ? `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}\r\n` : '';
  socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth}\r\n`);
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (head.length > 16_384) fail('an oversized answer');
        return;
      }
      socket.off('data', onData);
      socket.off('error', fail);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head.subarray(0, end).toString('latin1'))?.[1];
      if (status !== '200') return fail(`status ${status ?? 'unknown'}`);
      const rest = head.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      resolve(socket);
    };
    const fail = (why: Error | string) => {
      socket.destroy();
      reject(new TunnelRefused(502, `the host's proxy ${proxy.host} refused the tunnel to ${target}: ${String(why instanceof Error ? why.message : why)}`));
    };
    socket.on('data', onData);
    socket.once('error', fail);
  });
}
