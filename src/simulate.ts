import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Config } from './config.js';
import { waitUntilIdle } from './jobs/queues.js';
import { runScan } from './jobs/scan.js';
import type { Logger } from './log.js';
import { addDays } from './policy/dates.js';
import { buildRedisOptions, type RedisConnection } from './redis/connect.js';
import { startEmbeddedRedis, type EmbeddedRedis } from './redis/embedded.js';
import { startRuntime } from './runtime.js';
import type { Store } from './store/db.js';

export interface SimulatedAction {
  subscription: string;
  action: string;
  anniversary: string;
  outcome: string;
}

export interface SimulatedDay {
  date: string;
  actions: SimulatedAction[];
}


/**
 * SPEC §6 `simulate`: a time-lapse on the configured data. Each day is scanned as of that day
 * and every resulting job runs to completion through real BullMQ workers whose clock says it is
 * that day. Its queues live under their own prefix (on a private redis-server unless REDIS_URL
 * is set), so a running daemon is not disturbed.
 */
export async function simulate(
  config: Readonly<Config>,
  store: Store,
  log: Logger,
  range: { from: string; to: string },
  onDay?: (day: SimulatedDay) => void,
): Promise<SimulatedDay[]> {
  let redis: EmbeddedRedis | null = null;
  let redisDir: string | null = null;
  let connection: RedisConnection;
  if (config.redisUrl) connection = buildRedisOptions(config, true);
  else {
    redisDir = mkdtempSync(path.join(tmpdir(), 'lifecycle-simulate-'));
    redis = await startEmbeddedRedis(redisDir);
    connection = { host: redis.info.host, port: redis.info.port, password: redis.info.password };
  }
  let day = range.from;
  const prefix = `${config.queuePrefix}-simulate-${process.pid}`;
  const runtime = await startRuntime({
    // Retries wait milliseconds, not minutes: the calendar here is simulated.
    config: { ...config, jobBackoffMs: 20 },
    store,
    log,
    connection,
    prefix,
    today: () => day,
    now: () => new Date(),
  });
  const selectDay = store.sqlite.prepare(
    `SELECT subscription_id AS subscription, action, anniversary_on AS anniversary, outcome
     FROM actions WHERE effective_on = ? AND id > ? ORDER BY id`,
  );
  const startId = (store.sqlite.prepare('SELECT COALESCE(MAX(id), 0) FROM actions').pluck().get() as number) ?? 0;
  const days: SimulatedDay[] = [];
  try {
    for (; day <= range.to; day = addDays(day, 1)) {
      await runScan(runtime.deps, { trigger: 'simulate', asOf: day });
      await waitUntilIdle(runtime.queues.actions);
      const simulated: SimulatedDay = { date: day, actions: selectDay.all(day, startId) as SimulatedAction[] };
      days.push(simulated);
      onDay?.(simulated);
    }
  } finally {
    await runtime.close(5_000);
    if (redis) await redis.stop();
    else {
      const { Queue } = await import('bullmq');
      for (const name of ['actions', 'scans']) {
        const queue = new Queue(name, { connection, prefix });
        await queue.obliterate({ force: true }).catch(() => {});
        await queue.close();
      }
    }
    if (redisDir) rmSync(redisDir, { recursive: true, force: true });
  }
  return days;
}
