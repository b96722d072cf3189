import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { findFreePort } from './ports.js';
import { trackChild } from './processes.js';

export { findFreePort } from './ports.js';
export { trackChild } from './processes.js';

export interface RedisServerOptions {
  /** Data dir (the AOF lives in its appendonlydir). @defaultValue a new temp dir, removed by `remove()` */
  dir?: string;
  /** @defaultValue `everysec` (the daemon's embedded Redis); the fault harness uses `always` */
  appendfsync?: 'always' | 'everysec';
  port?: number;
  /** `--requirepass`. */
  password?: string;
  /** How long a start may take (a large AOF loads first). @defaultValue 30000 */
  startTimeoutMs?: number;
}

/** A private redis-server on a loopback port, AOF on, no eviction: never the machine's 6379. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** `redis-server --version`'s `v=…`. */
  readonly version: string;
  /** The running server's pid, or null while it is down. */
  readonly pid: number | null;
  /** Starts it again on the same port and data dir (after kill() or terminate()). */
  start(): Promise<void>;
  /** SIGKILL: nothing flushed, no goodbye; with `appendfsync always` nothing acknowledged is lost. */
  kill(): Promise<void>;
  /** SIGTERM (it fsyncs the AOF) and waits for the exit. */
  terminate(): Promise<void>;
  /** SHUTDOWN over the protocol (fsyncs the AOF) and waits for the exit; SIGKILL after 10 s. */
  shutdown(): Promise<void>;
  /** terminate(), then the data dir is deleted when it was a temp dir of this module's. */
  remove(): Promise<void>;
}

export function readRedisVersion(): string {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error) throw new Error('redis-server not found on PATH: install it (apt-get install redis-server)');
  return /v=(\S+)/.exec(probe.stdout)?.[1] ?? probe.stdout.trim();
}

async function waitForPing(port: number, child: ChildProcess, password: string | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with status ${child.exitCode}`);
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 500, ...(password ? { password } : {}) });
    client.on('error', () => {});
    try {
      await client.connect();
      // A server loading its AOF answers LOADING: not ready yet.
      if ((await client.ping()) === 'PONG') return;
    } catch {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      client.disconnect();
    }
  }
}

function isRunning(child: ChildProcess | null): child is ChildProcess {
  return child !== null && child.exitCode === null && child.signalCode === null;
}

async function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await once(child, 'exit');
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const version = readRedisVersion();
  const isOwnDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'lifecycle-redis-'));
  mkdirSync(dir, { recursive: true });
  const port = options.port ?? (await findFreePort());
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--appendonly', 'yes',
    '--appendfsync', options.appendfsync ?? 'everysec',
    '--save', '',
    '--maxmemory-policy', 'noeviction',
    ...(options.password ? ['--requirepass', options.password] : []),
  ];
  let child: ChildProcess | null = null;
  const start = async () => {
    if (isRunning(child)) throw new Error(`redis-server on port ${port} is already running`);
    const next = trackChild(spawn('redis-server', args, { stdio: 'ignore' }));
    child = next;
    await waitForPing(port, next, options.password, options.startTimeoutMs ?? 30_000);
  };
  const terminate = async () => {
    const current = child;
    if (!isRunning(current)) return;
    current.kill('SIGTERM');
    await waitForExit(current);
  };
  await start();
  return {
    port,
    url: options.password ? `redis://:${options.password}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`,
    dir,
    version,
    get pid() {
      return isRunning(child) ? (child.pid ?? null) : null;
    },
    start,
    async kill() {
      const current = child;
      if (!current) return;
      current.kill('SIGKILL');
      await waitForExit(current);
    },
    terminate,
    async shutdown() {
      const current = child;
      if (!isRunning(current)) return;
      const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null, ...(options.password ? { password: options.password } : {}) });
      client.on('error', () => {});
      await client.shutdown().catch(() => undefined);
      client.disconnect();
      const timer = setTimeout(() => current.kill('SIGKILL'), 10_000);
      await waitForExit(current);
      clearTimeout(timer);
    },
    async remove() {
      await terminate();
      if (isOwnDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The tests' Redis: a temp data dir, removed by stop(). */
export interface TestRedis {
  readonly port: number;
  readonly url: string;
  /** Stops the server (SIGTERM: it fsyncs the AOF) and starts it again on the same port and data. */
  restart(): Promise<void>;
  /** Stops the server (SIGTERM), keeping its port and data for `resume()`: Redis down for a while. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestRedis(options: { password?: string } = {}): Promise<TestRedis> {
  const server = await startRedisServer(options.password ? { password: options.password } : {});
  return {
    port: server.port,
    url: server.url,
    async restart() {
      await server.terminate();
      await server.start();
    },
    pause: () => server.terminate(),
    resume: () => server.start(),
    stop: () => server.remove(),
  };
}

/** The benches' Redis: in a data dir of theirs, killed and started again by the fault harness. */
export interface BenchRedis {
  readonly port: number;
  readonly url: string;
  /** `redis-server --version`'s `v=…`. */
  readonly version: string;
  /** The running server's pid, or null while it is down. */
  readonly pid: number | null;
  /** SIGKILL: nothing flushed, no goodbye; with `appendfsync always` nothing acknowledged is lost. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data dir (after kill()). */
  start(): Promise<void>;
  /** SHUTDOWN (fsyncs the AOF) and waits for the exit. */
  stop(): Promise<void>;
}

export interface BenchRedisOptions {
  /** Data dir (AOF lives in its appendonlydir). */
  dir: string;
  /** @defaultValue `everysec` (the daemon's embedded Redis); the fault harness uses `always` */
  appendfsync?: 'always' | 'everysec';
  port?: number;
}

export async function startBenchRedis(options: BenchRedisOptions): Promise<BenchRedis> {
  const server = await startRedisServer(options);
  return {
    port: server.port,
    url: server.url,
    version: server.version,
    get pid() {
      return server.pid;
    },
    kill: () => server.kill(),
    start: () => server.start(),
    stop: () => server.shutdown(),
  };
}
