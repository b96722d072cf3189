import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/redis/embedded.js';
import { isProcessAlive } from '../../src/process-alive.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('supervision of the private redis-server', () => {
  it('reports an outage once and backs off while the server will not start, then restarts it on the same port and password', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'lifecycle-supervise-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const redis: EmbeddedRedis = await startEmbeddedRedis(dataDir);
    const pids = new Set([redis.info.pid]);
    cleanups.push(async () => {
      await redis.stop();
      for (const pid of pids) if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
    });
    const events = { died: 0, restarted: 0, failed: 0 };
    redis.supervise({
      died: () => void (events.died += 1),
      restarted: (pid) => {
        events.restarted += 1;
        pids.add(pid);
      },
      restartFailed: () => void (events.failed += 1),
    });
    const { port, password } = redis.info;

    // A server that cannot start again (here: a config it refuses; in life a taken port, a full disk).
    const confFile = path.join(dataDir, 'redis', 'redis.conf');
    const conf = readFileSync(confFile, 'utf8');
    writeFileSync(confFile, `${conf}not-a-directive yes\n`);
    process.kill(redis.info.pid, 'SIGKILL');
    await expect.poll(() => events.failed, { timeout: 10_000, interval: 20 }).toBeGreaterThanOrEqual(1);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    // Four checks a second with two log lines each would be ~16 lines in these 2 s.
    expect(events.died).toBe(1);
    expect(events.failed).toBeLessThanOrEqual(3);

    writeFileSync(confFile, conf);
    await expect.poll(() => events.restarted, { timeout: 20_000, interval: 50 }).toBe(1);
    expect(events.died).toBe(1);
    expect(redis.info.port).toBe(port);
    const client = new Redis({ host: '127.0.0.1', port, password, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  }, 60_000);
});
