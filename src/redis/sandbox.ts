import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { RedisConnection } from './connect.js';
import { startEmbeddedRedis, type EmbeddedRedisInfo } from './embedded.js';
import { isProcessAlive } from '../process-alive.js';

/**
 * The private redis-server of one `simulate`: never the configured REDIS_URL, never a daemon's.
 * It lives in `<tmpdir>/lifecycle-simulate-*` with an `owner.pid` file, so that a simulate killed
 * with SIGKILL leaves nothing running for good:
 * - a watchdog (`sh`, reading a pipe from this process until EOF) stops the server as soon as
 *   this process dies, however it dies: the kernel closes the pipe;
 * - the next simulate reaps what the watchdog could not (a kill between the server's start and
 *   the watchdog's): every such directory whose owner is dead has its server shut down and is
 *   removed.
 */
export interface SandboxRedis {
  connection: RedisConnection;
  /** The directory of its configuration, AOF and log. */
  dir: string;
  info: EmbeddedRedisInfo;
  stop(): Promise<void>;
}

const dirPrefix = 'lifecycle-simulate-';
const ownerFile = 'owner.pid';
export const watchdogFile = 'watchdog.pid';

export async function startSandboxRedis(): Promise<SandboxRedis> {
  await reapOrphanedSandboxRedis();
  const dir = mkdtempSync(path.join(tmpdir(), dirPrefix));
  writeFileSync(path.join(dir, ownerFile), String(process.pid), { mode: 0o600 });
  let redis;
  try {
    redis = await startEmbeddedRedis(dir);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const watchdog = startWatchdog(redis.info.pid);
  writeFileSync(path.join(dir, watchdogFile), String(watchdog.pid), { mode: 0o600 });
  const { host, port, password } = redis.info;
  return {
    connection: { host, port, password },
    dir,
    info: redis.info,
    async stop() {
      watchdog.kill('SIGKILL');
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `sh` blocks on `cat` until this process's end of the pipe closes, then stops the server. */
function startWatchdog(redisPid: number): ChildProcess {
  const watchdog = spawn('sh', ['-c', 'cat >/dev/null; kill "$1" 2>/dev/null', 'lifecycle-simulate-watchdog', String(redisPid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.on('error', () => {}); // no sh: the next simulate's reaping is the fallback
  return watchdog;
}

/** Shuts down the servers of sandboxes whose simulate died, and removes their directories. Returns how many. */
export async function reapOrphanedSandboxRedis(): Promise<number> {
  let reaped = 0;
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(dirPrefix)) continue;
    const dir = path.join(tmpdir(), name);
    const ownerPid = readOwnerPid(dir);
    // A directory of a simulate still running, or one this code did not make: left alone.
    if (ownerPid === null || isProcessAlive(ownerPid)) continue;
    const credentials = readCredentials(dir);
    if (credentials) await shutDownServer(credentials);
    rmSync(dir, { recursive: true, force: true });
    reaped++;
  }
  return reaped;
}

function readOwnerPid(dir: string): number | null {
  try {
    const pid = Number(readFileSync(path.join(dir, ownerFile), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** From `redis.json` once the server answered, else from the `redis.conf` written before it started. */
function readCredentials(dir: string): { host: string; port: number; password: string } | null {
  try {
    const info = JSON.parse(readFileSync(path.join(dir, 'redis.json'), 'utf8')) as EmbeddedRedisInfo;
    return { host: info.host, port: info.port, password: info.password };
  } catch {
    // fall through to the configuration file
  }
  const confFile = path.join(dir, 'redis', 'redis.conf');
  if (!existsSync(confFile)) return null;
  const conf = readFileSync(confFile, 'utf8');
  const port = Number(/^port (\d+)$/m.exec(conf)?.[1]);
  const password = /^requirepass (\S+)$/m.exec(conf)?.[1];
  return Number.isInteger(port) && password ? { host: '127.0.0.1', port, password } : null;
}

/** The password proves the server is that sandbox's: a port reused by anything else refuses it. */
async function shutDownServer(credentials: { host: string; port: number; password: string }): Promise<void> {
  const client = new Redis({ ...credentials, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.call('SHUTDOWN', 'NOSAVE');
  } catch {
    // Not running any more, not ours, or the connection closed as it exited.
  } finally {
    client.disconnect();
  }
}

