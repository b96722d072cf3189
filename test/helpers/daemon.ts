import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './cli.js';
import { trackChild } from './redis.js';

export interface DaemonProcess {
  child: ChildProcess;
  readonly stderr: string;
  /** The pid of its private redis-server, from `<dataDir>/redis.json` (null with REDIS_URL). */
  redisPid(): number | null;
  /** SIGTERM, then the milliseconds until it exited and its exit status. */
  stop(): Promise<{ ms: number; code: number | null }>;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const started = new Set<{ child: ChildProcess; dataDir: string }>();

/** `lifecycle start` from the sources, as an operator runs it; reaped by reapDaemons() even when a test fails. */
export function spawnDaemon(dataDir: string, env: Record<string, string>): DaemonProcess {
  const child = trackChild(
    spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'start'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LIFECYCLE_TZ: 'UTC', LOG_LEVEL: 'info', ...env, LIFECYCLE_DATA_DIR: dataDir },
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  started.add({ child, dataDir });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const redisPid = () => {
    const file = path.join(dataDir, 'redis.json');
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { pid: number }).pid : null;
  };
  return {
    child,
    get stderr() {
      return stderr;
    },
    redisPid,
    async stop() {
      const startedMs = Date.now();
      const exited = child.exitCode === null ? once(child, 'exit') : Promise.resolve([child.exitCode]);
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return { ms: Date.now() - startedMs, code };
    },
  };
}

/** For afterEach: SIGKILL every daemon still running and the private redis-server of its data dir. */
export async function reapDaemons(): Promise<void> {
  for (const entry of started) {
    const { child, dataDir } = entry;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    const file = path.join(dataDir, 'redis.json');
    if (existsSync(file)) {
      const { pid } = JSON.parse(readFileSync(file, 'utf8')) as { pid: number };
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    started.delete(entry);
  }
}

/** Polls GET /healthz; resolves with its status code, or null when nothing answers. */
export async function readHealth(port: number): Promise<number | null> {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
  return response?.status ?? null;
}
