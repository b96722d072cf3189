import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { InputError } from '../errors.js';
import { makePrivateDir, privateFileMode, tightenMode } from '../files.js';
import { rememberSecrets } from '../redact.js';
import { withDeadline } from './deadline.js';
import { spawnRedisWatchdog } from './watchdog.js';
import { isProcessAlive } from '../process-alive.js';

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
  /**
   * Restarts the redis-server on the same config (port, password, AOF) whenever it dies, until
   * stop(); clients reconnect on their own. Only an owner supervises.
   */
  supervise(events: SupervisionEvents): void;
  stop(): Promise<void>;
}

export interface SupervisionEvents {
  died(pid: number): void;
  restarted(pid: number): void;
  restartFailed(error: Error): void;
}

/** How often a supervising daemon checks that its redis-server still runs. */
const superviseIntervalMs = 250;
/** After a failed restart the next try waits this long, doubled at each failure up to `restartBackoffMaxMs`. */
const restartBackoffMs = 1_000;
const restartBackoffMaxMs = 30_000;
/** A stop never waits longer than this for the redis-server's SHUTDOWN. */
const stopTimeoutMs = 5_000;

export function redisInfoFile(dataDir: string): string {
  return path.join(dataDir, 'redis.json');
}

/** What `redis.json` says, whether or not its processes still run. */
export function readRedisInfoFile(dataDir: string): EmbeddedRedisInfo | null {
  const file = redisInfoFile(dataDir);
  if (!existsSync(file)) return null;
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as EmbeddedRedisInfo;
    rememberSecrets([info.password]);
    return info;
  } catch {
    return null;
  }
}

/** The private Redis of a data dir when its redis-server runs. */
export function readRedisInfo(dataDir: string): EmbeddedRedisInfo | null {
  const info = readRedisInfoFile(dataDir);
  return info && isProcessAlive(info.pid) ? info : null;
}

/**
 * `running`: its redis-server runs. `redis-down`: the daemon that owns it runs but its
 * redis-server does not (it is being restarted). `none`: no daemon for this data dir.
 */
export function describeEmbeddedRedis(dataDir: string): { state: 'running' | 'redis-down' | 'none'; info: EmbeddedRedisInfo | null } {
  const info = readRedisInfoFile(dataDir);
  if (!info) return { state: 'none', info: null };
  if (isProcessAlive(info.pid)) return { state: 'running', info };
  return { state: isProcessAlive(info.ownerPid) ? 'redis-down' : 'none', info };
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
    const isOwnerAlive = existing.ownerPid !== process.pid && isProcessAlive(existing.ownerPid);
    if (!isOwnerAlive) {
      writeInfo(dataDir, { ...existing, ownerPid: process.pid });
      // Its watchdog may have died with the old daemon's process group: one more is harmless.
      spawnRedisWatchdog(redisInfoFile(dataDir), existing.pid);
    }
    return makeHandle(dataDir, { ...existing, ownerPid: isOwnerAlive ? existing.ownerPid : process.pid }, !isOwnerAlive, null);
  }
  // A server still running for this data dir but not answering (hung, or its config changed): stop it.
  if (existing && !isProcessAlive(existing.ownerPid)) killQuietly(existing.pid);
  checkRedisServerInstalled();
  const dir = path.join(dataDir, 'redis');
  makePrivateDir(dataDir);
  makePrivateDir(dir);
  const port = await findFreePort();
  const password = randomBytes(24).toString('hex');
  rememberSecrets([password]);
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
  writeFileSync(confFile, `${conf.join('\n')}\n`, { mode: privateFileMode });
  tightenMode(confFile, privateFileMode);
  const child = spawnRedisServer(confFile);
  const info: EmbeddedRedisInfo = { host: '127.0.0.1', port, password, pid: child.pid!, ownerPid: process.pid };
  try {
    await waitUntilReady(info, child, options.timeoutMs ?? 10_000);
  } catch (error) {
    killQuietly(child.pid!);
    throw error;
  }
  writeInfo(dataDir, info);
  spawnRedisWatchdog(redisInfoFile(dataDir), info.pid);
  return makeHandle(dataDir, info, true, child);
}

/**
 * Its own process group: a Ctrl-C at the terminal reaches the daemon, which stops Redis last,
 * instead of killing Redis under the jobs still finishing.
 */
function spawnRedisServer(confFile: string): ChildProcess {
  // redis-server creates its AOF directory and log with the umask it inherits: owner-only (SPEC §9).
  const umask = process.umask(0o077);
  let child: ChildProcess;
  try {
    child = spawn('redis-server', [confFile], { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  } finally {
    process.umask(umask);
  }
  child.on('error', () => {}); // reported by waitUntilReady or the supervisor
  return child;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

function confFileOf(dataDir: string): string {
  return path.join(dataDir, 'redis', 'redis.conf');
}

function writeInfo(dataDir: string, info: EmbeddedRedisInfo): void {
  writeFileSync(redisInfoFile(dataDir), JSON.stringify(info), { mode: privateFileMode });
  tightenMode(redisInfoFile(dataDir), privateFileMode);
}

function makeHandle(dataDir: string, info: EmbeddedRedisInfo, isOwner: boolean, child: ChildProcess | null): EmbeddedRedis {
  let timer: NodeJS.Timeout | undefined;
  let restarting = false;
  let stopped = false;
  // One outage is reported once, and a server that will not start (port taken, disk full, bad
  // AOF) is tried again with backoff, not four times a second with two log lines each.
  let failures = 0;
  let nextTryAt = 0;
  const restart = async (events: SupervisionEvents) => {
    restarting = true;
    if (failures === 0) events.died(info.pid);
    try {
      const next = spawnRedisServer(confFileOf(dataDir));
      const pid = next.pid;
      if (pid === undefined) throw new Error('redis-server could not be started');
      await waitUntilReady({ ...info, pid }, next, 10_000).catch((error: unknown) => {
        killQuietly(pid);
        throw error;
      });
      if (stopped) return killQuietly(pid);
      info.pid = pid;
      child = next;
      writeInfo(dataDir, info);
      spawnRedisWatchdog(redisInfoFile(dataDir), pid);
      failures = 0;
      events.restarted(pid);
    } catch (error) {
      failures += 1;
      nextTryAt = Date.now() + Math.min(restartBackoffMs * 2 ** (failures - 1), restartBackoffMaxMs);
      events.restartFailed(error as Error);
    } finally {
      restarting = false;
    }
  };
  return {
    info,
    isOwner,
    supervise(events) {
      if (!isOwner || timer) return;
      timer = setInterval(() => {
        if (!stopped && !restarting && Date.now() >= nextTryAt && !isProcessAlive(info.pid)) void restart(events);
      }, superviseIntervalMs);
      timer.unref();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (!isOwner) return;
      if (isProcessAlive(info.pid)) {
        const client = new Redis({ host: info.host, port: info.port, password: info.password, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
        client.on('error', () => {});
        try {
          // SHUTDOWN rewrites nothing with save "" but fsyncs the AOF before exiting.
          await withDeadline(client.shutdown(), stopTimeoutMs);
        } catch {
          // The connection closes as the server exits.
        } finally {
          client.disconnect();
        }
        const deadline = Date.now() + stopTimeoutMs;
        while (isProcessAlive(info.pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
        // SHUTDOWN could not reach it: SIGTERM does the same (fsync, exit).
        if (isProcessAlive(info.pid)) killQuietly(info.pid);
      }
      if (child && child.exitCode === null && child.signalCode === null) {
        await withDeadline(new Promise((resolve) => child!.once('exit', resolve)), stopTimeoutMs).catch(() => {});
      }
      rmSync(redisInfoFile(dataDir), { force: true });
    },
  };
}
