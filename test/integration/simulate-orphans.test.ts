import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot, runLifecycle } from '../helpers/cli.js';

const examples = path.join(repoRoot, 'examples/subscriptions.json');
const dirs: string[] = [];
const pids: number[] = [];

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifecycle-orphans-test-'));
  dirs.push(dir);
  return dir;
}

/** A zombie (exited, not yet reaped by init) counts as gone: it runs nothing and holds no port. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (macOS): kill(0) is all there is
  }
}

afterEach(() => {
  // A failing test leaves nothing running.
  for (const pid of pids.splice(0)) {
    if (isRunning(pid)) process.kill(pid, 'SIGKILL');
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface RunningSandbox {
  simulate: ChildProcess;
  dir: string;
  redisPid: number;
  watchdogPid: number;
}

/** Starts a simulate over years of days and resolves once its private redis-server answers. */
async function startLongSimulate(dataDir: string, scratch: string): Promise<RunningSandbox> {
  const simulate = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'simulate', '--from', '2019-08-15', '--to', '2029-08-15', '--json'], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TMPDIR: scratch, LIFECYCLE_DATA_DIR: dataDir, LIFECYCLE_TZ: 'UTC' },
    stdio: 'ignore',
  });
  pids.push(simulate.pid!);
  let found: RunningSandbox | undefined;
  await expect
    .poll(
      () => {
        for (const name of readdirSync(scratch).filter((n) => n.startsWith('lifecycle-simulate-'))) {
          const dir = path.join(scratch, name);
          if (!existsSync(path.join(dir, 'watchdog.pid'))) continue;
          const info = JSON.parse(readFileSync(path.join(dir, 'redis.json'), 'utf8')) as { pid: number; ownerPid: number };
          if (info.ownerPid !== simulate.pid) continue;
          found = { simulate, dir, redisPid: info.pid, watchdogPid: Number(readFileSync(path.join(dir, 'watchdog.pid'), 'utf8')) };
          pids.push(found.redisPid, found.watchdogPid);
        }
        return found !== undefined;
      },
      { timeout: 30_000, interval: 50 },
    )
    .toBe(true);
  return found!;
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

describe('a simulate killed with SIGKILL leaves no redis-server running', () => {
  it('its watchdog stops the private redis-server when the simulate dies', async () => {
    const dataDir = tempDir();
    const scratch = tempDir();
    expect((await runLifecycle(['import', examples], { dataDir })).status).toBe(0);
    const sandbox = await startLongSimulate(dataDir, scratch);
    expect(isRunning(sandbox.redisPid)).toBe(true);
    await kill(sandbox.simulate);
    await expect.poll(() => isRunning(sandbox.redisPid), { timeout: 10_000, interval: 50 }).toBe(false);
  });

  it('the next simulate reaps a redis-server whose simulate and watchdog were both killed', async () => {
    const dataDir = tempDir();
    const scratch = tempDir();
    expect((await runLifecycle(['import', examples], { dataDir })).status).toBe(0);
    const sandbox = await startLongSimulate(dataDir, scratch);
    // The watchdog first (else it would stop the server at once): the window reaping covers.
    process.kill(sandbox.watchdogPid, 'SIGKILL');
    await expect.poll(() => isRunning(sandbox.watchdogPid), { timeout: 10_000, interval: 50 }).toBe(false);
    await kill(sandbox.simulate);
    expect(isRunning(sandbox.redisPid)).toBe(true);

    const next = await runLifecycle(['simulate', '--from', '2019-08-31', '--to', '2019-08-31', '--into', path.join(scratch, 'next')], {
      dataDir,
      env: { TMPDIR: scratch },
      timeoutMs: 60_000,
    });
    expect(next.status).toBe(0);
    await expect.poll(() => isRunning(sandbox.redisPid), { timeout: 10_000, interval: 50 }).toBe(false);
    expect(existsSync(sandbox.dir)).toBe(false);
    // The next simulate stopped its own server too: no sandbox directory is left.
    expect(readdirSync(scratch).filter((n) => n.startsWith('lifecycle-simulate-'))).toEqual([]);
  });
});
