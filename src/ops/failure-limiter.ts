import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Failed authentications per client address, counted in Redis: every daemon sharing the Redis
 * (several hosts behind one address) counts into the same window, so N daemons do not give an
 * address N times the guesses. `limit` failures within `windowMs` block the address for
 * `windowMs`. Times are the caller's (`nowMs`); Redis's own clock only expires the keys, a
 * window after their last write, so an address flood costs a minute's worth of keys at most.
 */
export interface FailureLimiter {
  /** Milliseconds until `client` may try again; 0 when it is not blocked. */
  findRetryAfterMs(client: string, nowMs: number): Promise<number>;
  /** Counts a failure; true when this one blocks the address. */
  recordFailure(client: string, nowMs: number): Promise<boolean>;
}

export interface FailureLimiterOptions {
  /** @defaultValue 10 */
  limit?: number;
  /** @defaultValue 60000 */
  windowMs?: number;
}

/**
 * KEYS: the address's failures (a sorted set of times), its block (the time it ends).
 * ARGV: now, window, limit, a unique member. One script, so two daemons counting at once cannot
 * both see nine and miss the tenth.
 */
const recordFailureScript = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], now, ARGV[4])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], now + window, 'PX', window)
return 1`;

export function createFailureLimiter(redis: Redis, prefix: string, options: FailureLimiterOptions = {}): FailureLimiter {
  const limit = options.limit ?? 10;
  const windowMs = options.windowMs ?? 60_000;
  const failuresKey = (client: string) => `${prefix}:auth:failures:${client}`;
  const blockedKey = (client: string) => `${prefix}:auth:blocked:${client}`;
  return {
    async findRetryAfterMs(client, nowMs) {
      const until = Number((await redis.get(blockedKey(client))) ?? 0);
      return until > nowMs ? until - nowMs : 0;
    },
    async recordFailure(client, nowMs) {
      const blocked = await redis.eval(recordFailureScript, 2, failuresKey(client), blockedKey(client), nowMs, windowMs, limit, randomUUID());
      return blocked === 1;
    },
  };
}
