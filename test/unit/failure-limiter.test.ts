import { describe, expect, it } from 'vitest';
import { createFailureLimiter } from '../../src/ops/failure-limiter.js';

const t0 = 1_000_000;

describe('failure limiter', () => {
  it('blocks an address for the window from its 10th failure within a minute, then forgets it', () => {
    const limiter = createFailureLimiter();
    for (let i = 0; i < 9; i++) expect(limiter.recordFailure('a', t0 + i * 1_000)).toBe(false);
    expect(limiter.findRetryAfterMs('a', t0 + 9_000)).toBe(0);
    expect(limiter.recordFailure('a', t0 + 9_000)).toBe(true);
    expect(limiter.findRetryAfterMs('a', t0 + 9_000)).toBe(60_000);
    expect(limiter.findRetryAfterMs('a', t0 + 68_999)).toBe(1);
    expect(limiter.findRetryAfterMs('b', t0 + 9_000)).toBe(0);
    expect(limiter.findRetryAfterMs('a', t0 + 69_000)).toBe(0);
    // A fresh start: nine more failures do not block again.
    for (let i = 0; i < 9; i++) expect(limiter.recordFailure('a', t0 + 70_000 + i)).toBe(false);
  });

  it('counts only the failures of the last minute', () => {
    const limiter = createFailureLimiter();
    for (let i = 0; i < 9; i++) limiter.recordFailure('a', t0 + i);
    // The first nine are over a minute old by now.
    expect(limiter.recordFailure('a', t0 + 60_500)).toBe(false);
    expect(limiter.findRetryAfterMs('a', t0 + 60_500)).toBe(0);
  });

  it('remembers at most maxClients addresses, forgetting the oldest', () => {
    const limiter = createFailureLimiter({ limit: 2, maxClients: 3 });
    limiter.recordFailure('a', t0);
    for (const client of ['b', 'c', 'd']) limiter.recordFailure(client, t0);
    // 'a' was forgotten to make room for 'd': its next failure is its first again.
    expect(limiter.recordFailure('a', t0 + 1)).toBe(false);
    expect(limiter.recordFailure('d', t0 + 1)).toBe(true);
  });
});
