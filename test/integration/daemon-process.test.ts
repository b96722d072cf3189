import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { addDays, todayIn } from '../../src/policy/dates.js';
import { errorLines, repoRoot, runLifecycle } from '../helpers/cli.js';
import { isAlive, readHealth, reapDaemons, spawnDaemon } from '../helpers/daemon.js';
import { findFreePort, startTestRedis } from '../helpers/redis.js';
import { writeDataset } from '../helpers/world.js';

const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifecycle-daemon-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  await reapDaemons();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function importExamples(dataDir: string): Promise<void> {
  expect((await runLifecycle(['import', path.join(repoRoot, 'examples/subscriptions.json')], { dataDir })).status).toBe(0);
}

describe('the daemon process and its private Redis', () => {
  it('restarts a killed redis-server, reports the outage on /healthz, goes on working and stops within the bound', async () => {
    const dataDir = tempDir();
    await importExamples(dataDir);
    const adminPort = await findFreePort();
    const env = { ADMIN_PORT: String(adminPort), SHUTDOWN_TIMEOUT_MS: '3000', JOB_LOCK_MS: '2000' };
    const daemon = spawnDaemon(dataDir, env);
    await expect.poll(() => readHealth(adminPort), { timeout: 30_000, interval: 100 }).toBe(200);
    const firstPid = daemon.redisPid()!;
    process.kill(firstPid, 'SIGKILL');

    const seen = new Set<number | null>();
    await expect
      .poll(async () => {
        seen.add(await readHealth(adminPort));
        return seen.has(503) && (await readHealth(adminPort)) === 200;
      }, { timeout: 45_000, interval: 20 }) // generous: a loaded CI machine restarts and reconnects slowly
      .toBe(true);
    // redis.json names the new server once it answered: clients may reconnect a moment before.
    await expect.poll(() => daemon.redisPid(), { timeout: 5_000, interval: 20 }).not.toBe(firstPid);
    expect(daemon.stderr).toContain('private redis-server died');

    // A job still completes: a reminder due today goes to the outbox.
    const today = todayIn('UTC', new Date());
    const file = writeDataset(dataDir, [{ id: 'R-1', anniversaryOn: addDays(today, 10) }]);
    expect((await runLifecycle(['import', file], { dataDir })).status).toBe(0);
    const scan = await runLifecycle(['scan'], { dataDir });
    expect(scan.stdout).toMatch(/1 due, 1 enqueued, 0 missed \(recorded as skipped\), 0 pending notices redelivered/);
    await expect.poll(() => readdirSync(path.join(dataDir, 'outbox')).filter((f) => f.includes('R-1')), { timeout: 15_000 }).toHaveLength(1);

    const secondPid = daemon.redisPid()!;
    const { ms, code } = await daemon.stop();
    expect(code).toBe(0);
    expect(ms).toBeLessThan(3_000 + 8_000);
    expect(isAlive(secondPid)).toBe(false);
  }, 120_000);

  it('stops within SHUTDOWN_TIMEOUT_MS plus a few seconds when its Redis is gone', async () => {
    const dataDir = tempDir();
    await importExamples(dataDir);
    const redis = await startTestRedis();
    try {
      const adminPort = await findFreePort();
      const daemon = spawnDaemon(dataDir, { ADMIN_PORT: String(adminPort), REDIS_URL: redis.url, SHUTDOWN_TIMEOUT_MS: '2000' });
      await expect.poll(() => readHealth(adminPort), { timeout: 30_000, interval: 100 }).toBe(200);
      await redis.stop();
      await expect.poll(() => readHealth(adminPort), { timeout: 10_000, interval: 100 }).toBe(503);
      const { ms } = await daemon.stop();
      expect(ms).toBeLessThan(2_000 + 8_000);
    } finally {
      await redis.stop();
    }
  });

  it('leaves no redis-server behind when killed with SIGKILL, and the next start works', async () => {
    const dataDir = tempDir();
    await importExamples(dataDir);
    const adminPort = await findFreePort();
    const daemon = spawnDaemon(dataDir, { ADMIN_PORT: String(adminPort) });
    await expect.poll(() => readHealth(adminPort), { timeout: 30_000, interval: 100 }).toBe(200);
    const redisPid = daemon.redisPid()!;
    daemon.child.kill('SIGKILL');
    await once(daemon.child, 'exit');
    // Its watchdog stops it once the daemon has been gone for the grace (5 s).
    await expect.poll(() => isAlive(redisPid), { timeout: 15_000, interval: 200 }).toBe(false);

    const next = spawnDaemon(dataDir, { ADMIN_PORT: String(adminPort) });
    await expect.poll(() => readHealth(adminPort), { timeout: 30_000, interval: 100 }).toBe(200);
    expect((await next.stop()).code).toBe(0);
  });

  it('says one clear line when ADMIN_PORT is taken, and starts no redis-server', async () => {
    const dataDir = tempDir();
    await importExamples(dataDir);
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    try {
      const result = await runLifecycle(['start'], { dataDir, env: { ADMIN_PORT: String(port) } });
      expect(result.status).toBe(1);
      expect(errorLines(result.stderr)).toEqual([`error: ADMIN_PORT=${port} is already in use on 127.0.0.1: another daemon or program listens there; stop it or set ADMIN_PORT to a free port`]);
      expect(existsSync(path.join(dataDir, 'redis.json'))).toBe(false);
    } finally {
      server.close();
    }
  });
});

describe('lifecycle status and --version', () => {
  it('says the daemon runs with its Redis down rather than "no daemon"', async () => {
    const dataDir = tempDir();
    await importExamples(dataDir);
    const gone = spawn('true');
    await once(gone, 'exit');
    writeFileSync(path.join(dataDir, 'redis.json'), JSON.stringify({ host: '127.0.0.1', port: 1, password: 'x', pid: gone.pid, ownerPid: process.pid }));
    const result = await runLifecycle(['status'], { dataDir });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/queues +unreachable: daemon running \(pid \d+\), its Redis is down/);
  });

  it('answers promptly on a wrong REDIS_URL password or an unreachable Redis, and never prints the password', async () => {
    const dataDir = tempDir();
    await importExamples(dataDir);
    const redis = await startTestRedis({ password: 'right-one' });
    try {
      const wrongUrl = redis.url.replace('right-one', 'wrong-secret-pw');
      for (const url of [wrongUrl, `redis://:wrong-secret-pw@127.0.0.1:${await findFreePort()}`]) {
        const startedMs = Date.now();
        const result = await runLifecycle(['status'], { dataDir, env: { REDIS_URL: url }, timeoutMs: 20_000 });
        expect(Date.now() - startedMs).toBeLessThan(12_000);
        expect(result.stdout).toMatch(/queues +unreachable: Redis at redis:\/\/\*\*\*@127\.0\.0\.1:\d+/);
        expect(result.stdout + result.stderr).not.toContain('wrong-secret-pw');
        expect(result.stderr).not.toContain('maxRetriesPerRequest');
      }
      const right = await runLifecycle(['status', '--json'], { dataDir, env: { REDIS_URL: redis.url } });
      expect(JSON.parse(right.stdout).queues.reachable).toBe(true);
    } finally {
      await redis.stop();
    }
  });

  it('--version prints the package version', async () => {
    const result = await runLifecycle(['--version'], { dataDir: tempDir() });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('0.1.0\n');
  });
});
