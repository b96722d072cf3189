import type { Config } from '../config.js';
import { InputError } from '../errors.js';
import { readRedisInfo } from './embedded.js';

/** Connection settings, in the shape both ioredis and BullMQ take. */
export interface RedisConnection {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: object;
  maxRetriesPerRequest?: number | null;
}

/** Workers need `maxRetriesPerRequest: null` (BullMQ); producers fail fast instead. */
export function buildRedisOptions(config: Pick<Config, 'redisUrl' | 'dataDir'>, forWorkers: boolean): RedisConnection {
  const common: Pick<RedisConnection, 'maxRetriesPerRequest'> = { maxRetriesPerRequest: forWorkers ? null : 3 };
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
  const info = readRedisInfo(config.dataDir);
  if (!info) {
    throw new InputError(
      `no daemon is running for data dir ${config.dataDir}: start one with \`lifecycle start\` (or set REDIS_URL to the Redis the daemons use)`,
    );
  }
  return { ...common, host: info.host, port: info.port, password: info.password };
}
