import type { Config } from '../config.js';
import { InputError } from '../errors.js';
import { describeEmbeddedRedis } from './embedded.js';

/** Connection settings, in the shape both ioredis and BullMQ take. */
export interface RedisConnection {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: object;
  maxRetriesPerRequest?: number | null;
  connectTimeout?: number;
  retryStrategy?: (times: number) => number | null;
}

/** A CLI command waits this long for Redis, once, then says why it could not reach it. */
export const cliConnectTimeoutMs = 3_000;

/**
 * A daemon reconnects quickly (its private redis-server is restarted within a second or two)
 * and keeps trying for good; BullMQ's default backs off to 20 s between tries.
 */
export function reconnectQuickly(times: number): number {
  return Math.min(250 * times, 2_000);
}

/**
 * Workers (the daemon) wait for Redis through an outage: `maxRetriesPerRequest: null` (BullMQ)
 * and quick reconnects. CLI commands try once within `cliConnectTimeoutMs` and give up: a
 * command never hangs on an unreachable or wrongly authenticated Redis.
 */
export function buildRedisOptions(config: Pick<Config, 'redisUrl' | 'dataDir'>, forWorkers: boolean): RedisConnection {
  const common: Pick<RedisConnection, 'maxRetriesPerRequest' | 'connectTimeout' | 'retryStrategy'> = forWorkers
    ? { maxRetriesPerRequest: null, retryStrategy: reconnectQuickly }
    : { maxRetriesPerRequest: 1, connectTimeout: cliConnectTimeoutMs, retryStrategy: () => null };
  if (config.redisUrl) {
    const url = new URL(config.redisUrl);
    return {
      ...common,
      host: url.hostname,
      port: Number(url.port || 6379),
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      ...(url.pathname.length > 1 ? { db: Number(url.pathname.slice(1)) } : {}),
      ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    };
  }
  const { state, info } = describeEmbeddedRedis(config.dataDir);
  if (state === 'redis-down') {
    throw new InputError(
      `daemon running (pid ${info!.ownerPid}), its Redis is down (redis-server pid ${info!.pid} is gone): the daemon restarts it; try again in a few seconds, and see the daemon's log if it persists`,
    );
  }
  if (state === 'none') {
    throw new InputError(
      `no daemon is running for data dir ${config.dataDir}: start one with \`lifecycle start\` (or set REDIS_URL to the Redis the daemons use)`,
    );
  }
  return { ...common, host: info!.host, port: info!.port, password: info!.password };
}

/** REDIS_URL without its password, for messages. */
export function describeRedisUrl(redisUrl: string): string {
  try {
    const url = new URL(redisUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'REDIS_URL';
  }
}
