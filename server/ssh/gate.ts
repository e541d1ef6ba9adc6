// Counts SSH connections that have not logged in yet, in all and per remote address, so silent or slow
// connections cannot pile up: past the total cap a new connection is closed before any SSH is spoken; at an
// address's cap the oldest of that address's waiting connections makes room for it.
import net from 'node:net';

export interface LoginGateLimits {
  /** Connections not yet logged in, in all. */
  maxUnauthenticated: number;
  /** The same, from one address (an IPv6 client: from its /64, which one client usually holds whole). */
  maxUnauthenticatedPerAddress: number;
}

/** One admitted connection. */
export interface GateTicket {
  /** It logged in or closed: it no longer counts (idempotent). */
  release(): void;
  /** It sent its SSH identification: a connection that has not is the first to make room. */
  identified(): void;
}

export interface LoginGate {
  /**
   * A connection from `address` arrived: its ticket, or undefined: refuse it. `evict` closes it; the gate calls it
   * (and releases the ticket itself) when a newer connection from the same address needs its place.
   */
  admit(address: string | undefined, evict: () => void): GateTicket | undefined;
  /** Connections counted now. */
  waiting(): number;
}

interface Waiting {
  evict(): void;
  identified: boolean;
  release(): void;
}

export function createLoginGate(limits: LoginGateLimits): LoginGate {
  // Per address, oldest first. Were a new connection refused at an address's cap, idle sockets from a shared
  // address (a NAT, a proxy, or the attacker's own) would lock every real client there out for as long as they are
  // renewed; evicting the oldest lets a client that keeps trying in, since a real one logs in within moments.
  const perAddress = new Map<string, Waiting[]>();
  let total = 0;
  return {
    admit(address, evict) {
      const key = addressKey(address ?? '');
      const here = perAddress.get(key) ?? [];
      if (here.length > 0 && here.length >= limits.maxUnauthenticatedPerAddress) {
        // One that never said a word goes first; else the oldest, which has had the longest to log in.
        const oldest = here.find((entry) => !entry.identified) ?? here[0]!;
        oldest.release();
        oldest.evict();
      }
      if (total >= limits.maxUnauthenticated || here.length >= limits.maxUnauthenticatedPerAddress) return undefined;
      total++;
      let released = false;
      const entry: Waiting = {
        evict,
        identified: false,
        release: () => {
          if (released) return;
          released = true;
          total--;
          const list = perAddress.get(key) ?? [];
          const at = list.indexOf(entry);
          if (at >= 0) list.splice(at, 1);
          if (list.length === 0) perAddress.delete(key);
        },
      };
      here.push(entry);
      perAddress.set(key, here);
      return { release: entry.release, identified: () => void (entry.identified = true) };
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
