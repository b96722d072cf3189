import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { InputError } from '../errors.js';

/** What a CLI process needs to reach the daemon's private Redis: `<dataDir>/redis.json`, mode 0600. */
export interface EmbeddedRedisInfo {
  host: string;
  port: number;
  password: string;
  /** The redis-server process. */
  pid: number;
  /** The daemon that started it and stops it on exit. */
  ownerPid: number;
}

export interface EmbeddedRedis {
  info: EmbeddedRedisInfo;
  /** True when this process started it (and so stops it). */
  isOwner: boolean;
  stop(): Promise<void>;
}

export function redisInfoFile(dataDir: string): string {
  return path.join(dataDir, 'redis.json');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readRedisInfo(dataDir: string): EmbeddedRedisInfo | null {
  const file = redisInfoFile(dataDir);
  if (!existsSync(file)) return null;
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as EmbeddedRedisInfo;
    return isAlive(info.pid) ? info : null;
  } catch {
    return null;
  }
}

async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function ping(info: Pick<EmbeddedRedisInfo, 'host' | 'port' | 'password'>): Promise<boolean> {
  const client = new Redis({ ...info, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function waitUntilReady(info: EmbeddedRedisInfo, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with status ${child.exitCode} (see its log in the data dir)`);
    if (await ping(info)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`redis-server did not answer within ${timeoutMs} ms`);
}

export function checkRedisServerInstalled(): void {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error) {
    throw new InputError(
      'redis-server not found on PATH: install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL to a Redis you run',
    );
  }
}

/**
 * SPEC §5: with no REDIS_URL the daemon starts a private redis-server on loopback, password
 * protected, AOF on, its data under `<dataDir>/redis/`. A daemon that finds one already running
 * for the data dir (its previous life was killed) adopts it.
 */
export async function startEmbeddedRedis(dataDir: string, options: { timeoutMs?: number } = {}): Promise<EmbeddedRedis> {
  const existing = readRedisInfo(dataDir);
  if (existing && (await ping(existing))) {
    const isOwnerAlive = existing.ownerPid !== process.pid && isAlive(existing.ownerPid);
    if (!isOwnerAlive) writeInfo(dataDir, { ...existing, ownerPid: process.pid });
    return makeHandle(dataDir, { ...existing, ownerPid: isOwnerAlive ? existing.ownerPid : process.pid }, !isOwnerAlive, null);
  }
  checkRedisServerInstalled();
  const dir = path.join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = await findFreePort();
  const password = randomBytes(24).toString('hex');
  // Settings (the password among them) go in a 0600 file: an argument would show in `ps`.
  const confFile = path.join(dir, 'redis.conf');
  const conf = [
    'bind 127.0.0.1',
    `port ${port}`,
    `dir "${dir}"`,
    'appendonly yes',
    'appendfsync everysec',
    'save ""',
    'maxmemory-policy noeviction',
    `logfile "${path.join(dir, 'redis.log')}"`,
    `requirepass ${password}`,
  ];
  writeFileSync(confFile, `${conf.join('\n')}\n`, { mode: 0o600 });
  const child = spawn('redis-server', [confFile], { stdio: ['ignore', 'ignore', 'inherit'] });
  const info: EmbeddedRedisInfo = { host: '127.0.0.1', port, password, pid: child.pid!, ownerPid: process.pid };
  await waitUntilReady(info, child, options.timeoutMs ?? 10_000);
  writeInfo(dataDir, info);
  return makeHandle(dataDir, info, true, child);
}

function writeInfo(dataDir: string, info: EmbeddedRedisInfo): void {
  writeFileSync(redisInfoFile(dataDir), JSON.stringify(info), { mode: 0o600 });
}

function makeHandle(dataDir: string, info: EmbeddedRedisInfo, isOwner: boolean, child: ChildProcess | null): EmbeddedRedis {
  return {
    info,
    isOwner,
    async stop() {
      if (!isOwner) return;
      const client = new Redis({ host: info.host, port: info.port, password: info.password, maxRetriesPerRequest: 1 });
      client.on('error', () => {});
      try {
        // SHUTDOWN rewrites nothing with save "" but fsyncs the AOF before exiting.
        await client.shutdown();
      } catch {
        // The connection closes as the server exits.
      } finally {
        client.disconnect();
      }
      if (child && child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
      rmSync(redisInfoFile(dataDir), { force: true });
    },
  };
}
