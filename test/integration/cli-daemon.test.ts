import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { errorLines, repoRoot, runLifecycle } from '../helpers/cli.js';
import { findFreePort, trackChild } from '../helpers/redis.js';

const examples = path.join(repoRoot, 'examples/subscriptions.json');
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifecycle-cli-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the daemon on its embedded defaults, driven through the CLI', () => {
  it('owns a private redis-server that CLI commands find through the data dir, and stops it', async () => {
    const dataDir = tempDir();
    const adminPort = await findFreePort();
    const env = { ADMIN_PORT: String(adminPort), PAYMENT_GATEWAY: 'test', LOG_LEVEL: 'warn', JOB_LOCK_MS: '2000' };

    const early = await runLifecycle(['scan'], { dataDir, env });
    expect(early.status).toBe(1);
    expect(errorLines(early.stderr)).toEqual([expect.stringContaining('no daemon is running for data dir')]);

    expect((await runLifecycle(['import', examples], { dataDir, env })).status).toBe(0);
    const daemon = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'start'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LIFECYCLE_DATA_DIR: dataDir, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    trackChild(daemon);
    let stderr = '';
    daemon.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    try {
      await expect
        .poll(async () => (await fetch(`http://127.0.0.1:${adminPort}/healthz`).catch(() => null))?.status, { timeout: 30_000, interval: 100 })
        .toBe(200);
      const info = JSON.parse(readFileSync(path.join(dataDir, 'redis.json'), 'utf8')) as { pid: number; port: number; password: string };
      expect(info.password).toMatch(/^[0-9a-f]{48}$/);
      expect(isAlive(info.pid)).toBe(true);

      // The daemon's clock is the real one: its start-up scan finds every 2019/2020 example
      // long past its window, records the missed reminders and lapses them all.
      const readStatus = async () => JSON.parse((await runLifecycle(['status', '--json'], { dataDir, env })).stdout) as {
        subscriptions: Record<string, number>;
        queues: { reachable: boolean };
        recentScans: { trigger: string; status: string }[];
      };
      await expect.poll(async () => (await readStatus()).subscriptions, { timeout: 20_000, interval: 200 }).toEqual({ lapsed: 9 });
      const s1 = JSON.parse((await runLifecycle(['show', 'S-1', '--json'], { dataDir, env })).stdout) as { status: string; actions: { action: string; outcome: string }[] };
      expect(s1.status).toBe('lapsed');
      expect(s1.actions.map((a) => `${a.action} ${a.outcome}`)).toEqual([
        'remind-before skipped:missed',
        'auto-renew skipped:missed',
        'remind-after skipped:missed',
        'lapse lapsed',
      ]);

      // An operator re-scan through the daemon, found through the data dir.
      const scan = await runLifecycle(['scan', '--as-of', '2019-08-17', '--json'], { dataDir, env });
      expect(scan.status).toBe(0);
      expect(JSON.parse(scan.stdout)).toMatchObject({ asOf: '2019-08-17', due: 0, enqueued: 0 });
      const status = await readStatus();
      expect(status.queues.reachable).toBe(true);
      expect(status.recentScans.map((s) => `${s.trigger} ${s.status}`)).toEqual(['operator done', 'daily done']);

      daemon.kill('SIGTERM');
      const [code] = (await once(daemon, 'exit')) as [number | null];
      expect(code).toBe(0);
      expect(existsSync(path.join(dataDir, 'redis.json'))).toBe(false);
      await expect.poll(() => isAlive(info.pid), { timeout: 10_000 }).toBe(false);
    } finally {
      if (daemon.exitCode === null) daemon.kill('SIGKILL');
      // Its private redis-server too: a failing test leaves nothing running.
      const redisFile = path.join(dataDir, 'redis.json');
      if (existsSync(redisFile)) {
        const { pid } = JSON.parse(readFileSync(redisFile, 'utf8')) as { pid: number };
        if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      }
      if (stderr.includes('"level":50')) console.error(stderr);
    }
  });

  it('refuses to start with bad configuration, one line per problem', async () => {
    const dataDir = tempDir();
    const env = { LIFECYCLE_TZ: 'Mars/Olympus', PAYMENT_GATEWAY: 'cash', SCAN_CRON: '99 6 * * *', LOG_LEVEL: 'loud' };
    const result = await runLifecycle(['start'], { dataDir, env });
    expect(result.status).toBe(1);
    expect(errorLines(result.stderr)).toEqual([
      expect.stringContaining('LIFECYCLE_TZ=Mars/Olympus: not an IANA time zone name'),
      expect.stringContaining('SCAN_CRON=99 6 * * *: Constraint error, got value 99 expected range 0-59'),
      expect.stringContaining('PAYMENT_GATEWAY=cash: expected manual, test or webhook'),
      expect.stringContaining('LOG_LEVEL=loud: expected one of fatal, error, warn, info, debug, trace, silent'),
    ]);
    // Refused before anything started: no private Redis, no database in the data dir.
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('says how to fix a missing redis-server', async () => {
    const dataDir = tempDir();
    const result = await runLifecycle(['start'], { dataDir, env: { PATH: tempDir(), ADMIN_PORT: '0' } });
    expect(result.status).toBe(1);
    expect(errorLines(result.stderr)).toEqual([expect.stringMatching(/redis-server not found on PATH: install it .*or set REDIS_URL/)]);
  });

  it('simulate --json runs a season through real workers, in a sandbox', async () => {
    const dataDir = tempDir();
    const sandbox = path.join(tempDir(), 'sandbox');
    const env = { PAYMENT_GATEWAY: 'test' };
    expect((await runLifecycle(['import', examples], { dataDir, env })).status).toBe(0);
    const result = await runLifecycle(['simulate', '--from', '2019-08-31', '--to', '2019-09-05', '--into', sandbox, '--json'], { dataDir, env, timeoutMs: 60_000 });
    expect(result.status).toBe(0);
    const { days } = JSON.parse(result.stdout) as { days: { date: string; actions: { subscription: string; action: string; outcome: string }[] }[] };
    expect(days.map((d) => d.date)).toEqual(['2019-08-31', '2019-09-01', '2019-09-02', '2019-09-03', '2019-09-04', '2019-09-05']);
    // Jobs of different subscriptions run concurrently: compare each day's actions as a set.
    const on = (date: string) => days.find((d) => d.date === date)!.actions.map((a) => `${a.subscription} ${a.action} ${a.outcome}`).sort();
    // The first day catches up every reminder still in its range, and only those.
    expect(on('2019-08-31')).toEqual([
      'S-1 remind-before sent',
      'S-3 remind-before sent',
      'S-4 remind-before sent',
      'S-5 remind-before sent',
      'S-6 remind-before sent',
      'S-8 remind-before undeliverable',
    ]);
    expect(on('2019-09-01')).toEqual(['S-1 auto-renew renewed']);
    expect(on('2019-09-05')).toEqual(['S-4 auto-renew failed:declined', 'S-7 remind-before sent']);
    expect(readFileSync(path.join(sandbox, 'outbox', 'auto-renew-receipt.S-1.2019-09-01.eml'), 'utf8')).toContain('Message-ID: <auto-renew-receipt.S-1.2019-09-01@');
    expect(existsSync(path.join(dataDir, 'outbox'))).toBe(false);
  });
});

describe('commands that need the queue, when Redis does not answer', () => {
  it('say which Redis they could not reach (REDIS_URL, its password hidden), one line, exit status 1', async () => {
    const dataDir = tempDir();
    expect((await runLifecycle(['import', examples], { dataDir })).status).toBe(0);
    const port = await findFreePort(); // nothing listens there
    const env = { REDIS_URL: `redis://:s3cret-Pass@127.0.0.1:${port}` };
    for (const args of [['scan', '--as-of', '2019-08-20'], ['retry', '--all-failed']]) {
      const result = await runLifecycle(args, { dataDir, env });
      expect(result.status, args.join(' ')).toBe(1);
      expect(result.stderr).not.toContain('s3cret');
      expect(errorLines(result.stderr), args.join(' ')).toEqual([`error: cannot reach Redis at redis://***@127.0.0.1:${port} (REDIS_URL): connect ECONNREFUSED 127.0.0.1:${port}`]);
    }
  });
});
