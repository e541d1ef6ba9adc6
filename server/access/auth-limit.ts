// Failed authentication per client and for the whole server: how many wrong keys may be presented before they are refused without any hashing.
import { LambdaError } from '../errors.js';

export interface AuthLimitSettings {
  /** Wrong keys a client may present in a window before it is refused (LAMBDA_AUTH_FAILURES). */
  failures: number;
  /** The window: a client's allowance comes back evenly over this long (LAMBDA_AUTH_FAILURE_WINDOW). */
  windowMs: number;
  /** Slow hashes (scrypt) computed at once for the whole server; beyond, refused at once. */
  slowChecks?: number;
  /**
   * Keys checked with a slow hash per window for the whole server (LAMBDA_AUTH_SLOW_CHECKS), coming back evenly
   * over `windowMs`: whoever holds many addresses gets no more guesses at a chosen key than this.
   */
  slowBudget?: number;
  /** Clients remembered at most; the oldest are forgotten first, so a flood of addresses cannot grow memory. */
  maxClients?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export interface AuthLimiter {
  /** Throws LAMBDA_ERR_AUTH_RATE_LIMITED when `client` has no wrong key left in its allowance. */
  check(client: string): void;
  /** A wrong key (or one about to be hashed slowly) from `client` takes one from its allowance. */
  charge(client: string): void;
  /** A slowly hashed key that turned out right gives its charge back. */
  refund(client: string): void;
  /**
   * A slot for one slow hash, taken from the server-wide budget; throws LAMBDA_ERR_AUTH_RATE_LIMITED when every slot
   * is taken or the budget is spent. Returns its release.
   */
  slowSlot(): () => void;
  /** A slowly hashed key that turned out right gives its share of the server-wide budget back. */
  refundSlow(): void;
}

/**
 * A token bucket per client: `failures` wrong keys at once, refilled evenly over `windowMs`. A client without
 * allowance is refused with a 429 whose Retry-After is when one comes back; nothing is hashed for it.
 */
export function createAuthLimiter(settings: AuthLimitSettings, now: () => number = Date.now): AuthLimiter {
  const buckets = new Map<string, Bucket>();
  const perMs = settings.failures / settings.windowMs;
  const maxClients = settings.maxClients ?? 10_000;
  const slowChecks = settings.slowChecks ?? 2;
  let slowRunning = 0;
  // One more bucket, for the whole server: unlike the per-client ones it cannot be dodged by changing address.
  const slowBudget = settings.slowBudget ?? Infinity;
  const slowPerMs = slowBudget / settings.windowMs;
  const budget: Bucket = { tokens: slowBudget, at: now() };
  const refill = () => {
    const at = now();
    budget.tokens = Math.min(slowBudget, budget.tokens + (at - budget.at) * slowPerMs);
    budget.at = at;
  };

  const current = (client: string): Bucket | undefined => {
    const bucket = buckets.get(client);
    if (!bucket) return undefined;
    const at = now();
    bucket.tokens = Math.min(settings.failures, bucket.tokens + (at - bucket.at) * perMs);
    bucket.at = at;
    if (bucket.tokens >= settings.failures) {
      // Full again: nothing to remember.
      buckets.delete(client);
      return undefined;
    }
    return bucket;
  };

  const limited = (seconds: number) => new LambdaError('LAMBDA_ERR_AUTH_RATE_LIMITED', { seconds }, { retryAfterSeconds: seconds });

  return {
    check(client) {
      const bucket = current(client);
      if (bucket && bucket.tokens < 1) throw limited(Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000)));
    },
    charge(client) {
      const bucket = current(client) ?? { tokens: settings.failures, at: now() };
      bucket.tokens -= 1;
      // Re-inserted so that the map's order is the order of last failure, oldest first.
      buckets.delete(client);
      buckets.set(client, bucket);
      while (buckets.size > maxClients) buckets.delete(buckets.keys().next().value as string);
    },
    refund(client) {
      const bucket = current(client);
      if (bucket) bucket.tokens = Math.min(settings.failures, bucket.tokens + 1);
    },
    slowSlot() {
      if (slowRunning >= slowChecks) throw limited(1);
      refill();
      if (budget.tokens < 1) throw limited(Math.max(1, Math.ceil((1 - budget.tokens) / slowPerMs / 1000)));
      budget.tokens -= 1;
      slowRunning += 1;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        slowRunning -= 1;
      };
    },
    refundSlow() {
      refill();
      budget.tokens = Math.min(slowBudget, budget.tokens + 1);
    },
  };
}

/**
 * The client a failure is counted against: its IP address, an IPv6 one by its /64 (one machine usually holds a
 * whole /64, so counting single addresses would give it billions of allowances). IPv4-mapped addresses count as IPv4.
 * Every loopback address (127.0.0.0/8, ::1) is one client, `loopback`: any local user can bind any of them.
 */
export function clientOf(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ipv4 = mapped ? mapped[1] : address;
  if (/^127\.\d+\.\d+\.\d+$/.test(ipv4) || /^(0*:){2,7}0*1$|^::1$/i.test(address)) return 'loopback';
  if (mapped) return mapped[1];
  if (!address.includes(':')) return address;
  const [head, tail] = address.toLowerCase().split('%')[0].split('::');
  const front = head ? head.split(':') : [];
  const back = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? front : [...front, ...Array<string>(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back];
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
