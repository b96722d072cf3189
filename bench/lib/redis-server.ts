import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { Redis } from 'ioredis';

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

export async function findFreePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export function readRedisVersion(): string {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error) throw new Error('redis-server not found on PATH: install it (apt-get install redis-server)');
  return /v=(\S+)/.exec(probe.stdout)?.[1] ?? probe.stdout.trim();
}

async function waitForPing(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with status ${child.exitCode}`);
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 500 });
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

/** A private redis-server on a loopback port with AOF on: never the machine's 6379. */
export async function startBenchRedis(options: BenchRedisOptions): Promise<BenchRedis> {
  const version = readRedisVersion();
  mkdirSync(options.dir, { recursive: true });
  const port = options.port ?? (await findFreePort());
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', options.dir,
    '--appendonly', 'yes',
    '--appendfsync', options.appendfsync ?? 'everysec',
    '--save', '',
    '--maxmemory-policy', 'noeviction',
  ];
  let child: ChildProcess | null = null;
  const start = async () => {
    if (child && child.exitCode === null && child.signalCode === null) throw new Error(`redis-server on port ${port} is already running`);
    const next = spawn('redis-server', args, { stdio: 'ignore' });
    child = next;
    await waitForPing(port, next, 30_000);
  };
  const waitForExit = async (current: ChildProcess) => {
    if (current.exitCode !== null || current.signalCode !== null) return;
    await once(current, 'exit');
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    version,
    get pid() {
      return child && child.exitCode === null && child.signalCode === null ? (child.pid ?? null) : null;
    },
    async kill() {
      const current = child;
      if (!current) return;
      current.kill('SIGKILL');
      await waitForExit(current);
    },
    start,
    async stop() {
      const current = child;
      if (!current || current.exitCode !== null || current.signalCode !== null) return;
      const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on('error', () => {});
      await client.shutdown().catch(() => undefined);
      client.disconnect();
      const timer = setTimeout(() => current.kill('SIGKILL'), 10_000);
      await waitForExit(current);
      clearTimeout(timer);
    },
  };
}
