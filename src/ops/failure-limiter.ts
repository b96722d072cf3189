/**
 * Failed authentications per client address, in memory: enough for one daemon (each daemon of a
 * cluster counts its own). `limit` failures within `windowMs` block the address for `windowMs`.
 */
export interface FailureLimiter {
  /** Milliseconds until `client` may try again; 0 when it is not blocked. */
  findRetryAfterMs(client: string, nowMs: number): number;
  /** Counts a failure; true when this one blocks the address. */
  recordFailure(client: string, nowMs: number): boolean;
}

interface ClientFailures {
  times: number[];
  blockedUntil: number;
}

export interface FailureLimiterOptions {
  /** @defaultValue 10 */
  limit?: number;
  /** @defaultValue 60000 */
  windowMs?: number;
  /** Addresses remembered at most; the oldest is forgotten first, so a flood of addresses cannot exhaust memory. @defaultValue 10000 */
  maxClients?: number;
}

export function createFailureLimiter(options: FailureLimiterOptions = {}): FailureLimiter {
  const limit = options.limit ?? 10;
  const windowMs = options.windowMs ?? 60_000;
  const maxClients = options.maxClients ?? 10_000;
  const clients = new Map<string, ClientFailures>();

  const findCurrent = (client: string, nowMs: number): ClientFailures | undefined => {
    const entry = clients.get(client);
    if (!entry) return undefined;
    entry.times = entry.times.filter((time) => time > nowMs - windowMs);
    if (entry.times.length === 0 && entry.blockedUntil <= nowMs) {
      clients.delete(client);
      return undefined;
    }
    return entry;
  };

  return {
    findRetryAfterMs(client, nowMs) {
      const entry = findCurrent(client, nowMs);
      return entry && entry.blockedUntil > nowMs ? entry.blockedUntil - nowMs : 0;
    },
    recordFailure(client, nowMs) {
      let entry = findCurrent(client, nowMs);
      if (!entry) {
        if (clients.size >= maxClients) clients.delete(clients.keys().next().value!);
        entry = { times: [], blockedUntil: 0 };
        clients.set(client, entry);
      }
      entry.times.push(nowMs);
      if (entry.times.length < limit) return false;
      entry.times = [];
      entry.blockedUntil = nowMs + windowMs;
      return true;
    },
  };
}
