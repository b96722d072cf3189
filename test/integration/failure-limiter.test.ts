import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFailureLimiter } from '../../src/ops/failure-limiter.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';

const t0 = 1_000_000;
let redis: TestRedis;
let client: Redis;
let prefix = 0;
/** A limiter on a prefix of its own: each test starts with no failures counted. */
const newPrefix = () => `limiter-test-${++prefix}`;

beforeAll(async () => {
  redis = await startTestRedis();
  client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});

describe('failed authentications per address, counted in Redis', () => {
  it('blocks an address for the window from its 10th failure within a minute, then forgets it', async () => {
    const limiter = createFailureLimiter(client, newPrefix());
    for (let i = 0; i < 9; i++) expect(await limiter.recordFailure('a', t0 + i * 1_000)).toBe(false);
    expect(await limiter.findRetryAfterMs('a', t0 + 9_000)).toBe(0);
    expect(await limiter.recordFailure('a', t0 + 9_000)).toBe(true);
    expect(await limiter.findRetryAfterMs('a', t0 + 9_000)).toBe(60_000);
    expect(await limiter.findRetryAfterMs('a', t0 + 68_999)).toBe(1);
    expect(await limiter.findRetryAfterMs('b', t0 + 9_000)).toBe(0);
    expect(await limiter.findRetryAfterMs('a', t0 + 69_000)).toBe(0);
    // A fresh start: nine more failures do not block again.
    for (let i = 0; i < 9; i++) expect(await limiter.recordFailure('a', t0 + 70_000 + i)).toBe(false);
  });

  it('counts only the failures of the last minute', async () => {
    const limiter = createFailureLimiter(client, newPrefix());
    for (let i = 0; i < 9; i++) await limiter.recordFailure('a', t0 + i);
    // The first nine are over a minute old by now.
    expect(await limiter.recordFailure('a', t0 + 60_500)).toBe(false);
    expect(await limiter.findRetryAfterMs('a', t0 + 60_500)).toBe(0);
  });

  it('counts the failures of every daemon on the same Redis together, each address its own', async () => {
    const shared = newPrefix();
    const [first, second] = [createFailureLimiter(client, shared), createFailureLimiter(client, shared)];
    // Ten failures at once, five through each daemon: exactly one of them blocks the address.
    const blocks = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? first : second).recordFailure('10.0.0.7', t0 + i)));
    expect(blocks.filter(Boolean)).toHaveLength(1);
    expect(await first.findRetryAfterMs('10.0.0.7', t0 + 100)).toBeGreaterThan(59_000);
    expect(await second.findRetryAfterMs('10.0.0.7', t0 + 100)).toBeGreaterThan(59_000);
    expect(await second.findRetryAfterMs('::1', t0 + 100)).toBe(0);
    // Another deployment on the same Redis (another QUEUE_PREFIX) counts apart.
    expect(await createFailureLimiter(client, newPrefix()).findRetryAfterMs('10.0.0.7', t0 + 100)).toBe(0);
  });

  it('leaves nothing behind: its keys expire a window after their last write', async () => {
    const keyPrefix = newPrefix();
    const limiter = createFailureLimiter(client, keyPrefix, { limit: 2, windowMs: 200 });
    await limiter.recordFailure('a', Date.now());
    await limiter.recordFailure('b', Date.now());
    await limiter.recordFailure('b', Date.now());
    expect((await client.keys(`${keyPrefix}:*`)).sort()).toEqual([`${keyPrefix}:auth:blocked:b`, `${keyPrefix}:auth:failures:a`]);
    for (const key of await client.keys(`${keyPrefix}:*`)) {
      const ttl = await client.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(200);
    }
  });
});
