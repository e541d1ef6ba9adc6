// Counts SSH connections that have not logged in yet, in all and per remote address, so silent or slow
// connections cannot pile up: past either cap a new connection is closed before any SSH is spoken.
import net from 'node:net';

export interface LoginGateLimits {
  /** Connections not yet logged in, in all. */
  maxUnauthenticated: number;
  /** The same, from one address (an IPv6 client: from its /64, which one client usually holds whole). */
  maxUnauthenticatedPerAddress: number;
}

export interface LoginGate {
  /** A connection from `address` arrived: a release to call once it logs in or closes (idempotent), or undefined: refuse it. */
  admit(address: string | undefined): (() => void) | undefined;
  /** Connections counted now. */
  waiting(): number;
}

export function createLoginGate(limits: LoginGateLimits): LoginGate {
  const perAddress = new Map<string, number>();
  let total = 0;
  return {
    admit(address) {
      const key = addressKey(address ?? '');
      const here = perAddress.get(key) ?? 0;
      if (total >= limits.maxUnauthenticated || here >= limits.maxUnauthenticatedPerAddress) return undefined;
      total++;
      perAddress.set(key, here + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        total--;
        const left = (perAddress.get(key) ?? 1) - 1;
        if (left > 0) perAddress.set(key, left);
        else perAddress.delete(key);
      };
    },
    waiting: () => total,
  };
}

/** IPv4 as it is (IPv4-mapped IPv6 too); IPv6 by its first 64 bits. */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] as string;
  if (!net.isIPv6(address)) return address;
  const [head = '', tail] = address.split('%')[0]!.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups.slice(0, 4).map((group) => Number.parseInt(group, 16).toString(16)).join(':')}::/64`;
}
