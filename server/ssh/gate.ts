// Counts SSH connections that have not logged in yet, in all and per client (an address, every loopback address as
// one, an IPv6 /64 as one), so silent or slow connections cannot pile up: at a client's cap its oldest waiting
// connection makes room for the new one, and at the total cap the client holding the most gives up its oldest.
import { clientOf } from '../access/auth-limit.js';

export interface LoginGateLimits {
  /** Connections not yet logged in, in all. */
  maxUnauthenticated: number;
  /** The same, from one client (every loopback address is one; an IPv6 client: its /64, which one client usually holds whole). */
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
   * A connection from `address` arrived: its ticket, or undefined: refuse it (only when a cap is 0). `evict` closes
   * it; the gate calls it (and releases the ticket itself) when a newer connection needs its place.
   */
  admit(address: string | undefined, evict: () => void): GateTicket | undefined;
  /** Connections counted now. */
  waiting(): number;
}

interface Waiting {
  evict(): void;
  identified: boolean;
  /** Order of arrival, to find the oldest across clients. */
  seq: number;
  release(): void;
}

export function createLoginGate(limits: LoginGateLimits): LoginGate {
  // Per client, oldest first. Were a new connection refused at a cap, idle sockets from a shared address (a NAT, a
  // proxy, the attacker's own) or from a handful of addresses filling the total would lock every real client out
  // for as long as they are renewed; making room instead lets a client that keeps trying in, since a real one logs
  // in within moments while the sockets that make room are those of whoever holds the most.
  const perClient = new Map<string, Waiting[]>();
  let total = 0;
  let arrivals = 0;
  /** One that never said a word goes first; else the oldest, which has had the longest to log in. */
  const makeRoom = (list: Waiting[]) => {
    const victim = list.find((entry) => !entry.identified) ?? list[0]!;
    victim.release();
    victim.evict();
  };
  /** The client holding the most waiting connections; of equals, the one waiting longest. */
  const greediest = (): Waiting[] | undefined => {
    let best: Waiting[] | undefined;
    for (const list of perClient.values()) {
      if (!best || list.length > best.length || (list.length === best.length && list[0]!.seq < best[0]!.seq)) best = list;
    }
    return best;
  };
  return {
    admit(address, evict) {
      const key = clientOf(address);
      const here = perClient.get(key) ?? [];
      if (here.length > 0 && here.length >= limits.maxUnauthenticatedPerAddress) makeRoom(here);
      if (total > 0 && total >= limits.maxUnauthenticated) {
        const most = greediest();
        if (most) makeRoom(most);
      }
      if (total >= limits.maxUnauthenticated || here.length >= limits.maxUnauthenticatedPerAddress) return undefined;
      total++;
      let released = false;
      const entry: Waiting = {
        evict,
        identified: false,
        seq: arrivals++,
        release: () => {
          if (released) return;
          released = true;
          total--;
          const list = perClient.get(key) ?? [];
          const at = list.indexOf(entry);
          if (at >= 0) list.splice(at, 1);
          if (list.length === 0) perClient.delete(key);
        },
      };
      here.push(entry);
      perClient.set(key, here);
      return { release: entry.release, identified: () => void (entry.identified = true) };
    },
    waiting: () => total,
  };
}
