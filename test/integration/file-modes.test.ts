import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitUntilIdle } from '../../src/jobs/queues.js';
import { runScan } from '../../src/jobs/scan.js';
import { addDays } from '../../src/policy/dates.js';
import { startEmbeddedRedis } from '../../src/redis/embedded.js';
import { copyDatabase } from '../../src/store/copy.js';
import { databaseFile, openStore } from '../../src/store/db.js';
import { repoRoot, runLifecycle } from '../helpers/cli.js';
import { readHealth, reapDaemons, spawnDaemon } from '../helpers/daemon.js';
import { findFreePort, startTestRedis, type TestRedis } from '../helpers/redis.js';
import { createWorld, type World } from '../helpers/world.js';

/** Every file and directory under `dir` (itself included) whose mode gives group or others any right. */
function findShared(dir: string): string[] {
  const shared: string[] = [];
  const visit = (file: string) => {
    const stats = statSync(file);
    if ((stats.mode & 0o077) !== 0) shared.push(`${path.relative(dir, file) || '.'} ${(stats.mode & 0o777).toString(8)}`);
    if (stats.isDirectory()) for (const name of readdirSync(file)) visit(path.join(file, name));
  };
  visit(dir);
  return shared;
}

/** Every path under `dir`, so a test shows it looked at the files it means (a database, an .eml, the AOF). */
function listAll(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

const dirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

const umask = process.umask(0o022);
let redis: TestRedis;
let world: World | undefined;

beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(async () => {
  process.umask(umask);
  await redis?.stop();
});
afterEach(async () => {
  await reapDaemons();
  await world?.close();
  world = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('files are owner-only under umask 022 (SPEC §9)', () => {
  it('in-process: database and WAL, outbox after a season of jobs, private Redis after a stop, a sandbox copy', async () => {
    expect(process.umask()).toBe(0o022);
    const D = '2019-09-30';
    const w = (world = await createWorld({ REDIS_URL: redis.url }, D));
    await w.import([
      { id: 'M-remind', anniversaryOn: addDays(D, 15) },
      { id: 'M-renew', anniversaryOn: D, autoRenew: true, token: 'tok_visa' },
      { id: 'M-lapse', anniversaryOn: addDays(D, -31) },
    ]);
    const runtime = await w.startRuntime();
    await runScan(runtime.deps, { trigger: 'operator', asOf: D });
    await waitUntilIdle(runtime.queues.actions);
    const embedded = await startEmbeddedRedis(w.dir);
    await embedded.stop();
    const copy = path.join(tempDir('lifecycle-modes-copy-'), 'copy.db');
    await copyDatabase(databaseFile(w.dir), copy);

    const files = listAll(w.dir);
    expect(files).toEqual(expect.arrayContaining(['lifecycle.db', 'lifecycle.db-wal', 'lifecycle.db-shm', 'outbox', 'redis', 'redis/redis.conf', 'redis/redis.log']));
    expect(files.filter((file) => file.endsWith('.eml')).length).toBeGreaterThanOrEqual(3);
    expect(files.some((file) => file.startsWith('redis/appendonlydir/'))).toBe(true);
    // The dataset the test wrote there is the test's own file, not the daemon's.
    expect(findShared(w.dir).filter((entry) => !/^data-.*\.json /.test(entry))).toEqual([]);
    expect(findShared(copy)).toEqual([]);
  });

  it('tightens a data dir an older release left readable to all, with everything in it', async () => {
    const dataDir = path.join(tempDir('lifecycle-modes-old-'), 'data');
    openStore(databaseFile(dataDir)).close();
    mkdirSync(path.join(dataDir, 'outbox'), { mode: 0o755 });
    mkdirSync(path.join(dataDir, 'redis', 'appendonlydir'), { recursive: true, mode: 0o755 });
    const files = ['lifecycle.db', 'lifecycle.db-wal', 'lifecycle.db-shm', 'outbox/n.S-1.eml', 'redis/redis.log', 'redis/appendonlydir/a.aof'];
    for (const file of files) {
      closeSync(openSync(path.join(dataDir, file), 'a'));
      chmodSync(path.join(dataDir, file), 0o644);
    }
    for (const dir of ['.', 'outbox', 'redis', 'redis/appendonlydir']) chmodSync(path.join(dataDir, dir), 0o755);
    // Not the program's own: left as it is (LIFECYCLE_DATA_DIR may hold other things).
    closeSync(openSync(path.join(dataDir, 'notes.txt'), 'a'));
    chmodSync(path.join(dataDir, 'notes.txt'), 0o644);
    expect(findShared(dataDir)).toHaveLength(11);
    openStore(databaseFile(dataDir)).close();
    expect(findShared(dataDir)).toEqual(['notes.txt 644']);
    expect((statSync(path.join(dataDir, 'outbox/n.S-1.eml')).mode & 0o777).toString(8)).toBe('600');
  });

  it('through the CLI: import, a daemon with its private Redis, its jobs, its stop, and a simulate sandbox', async () => {
    const dataDir = path.join(tempDir('lifecycle-modes-cli-'), 'data');
    const env = { ADMIN_PORT: String(await findFreePort()), PAYMENT_GATEWAY: 'test', LOG_LEVEL: 'warn', JOB_LOCK_MS: '2000' };
    expect((await runLifecycle(['import', path.join(repoRoot, 'examples/subscriptions.json')], { dataDir, env })).status).toBe(0);
    const daemon = spawnDaemon(dataDir, env);
    await expect.poll(() => readHealth(Number(env.ADMIN_PORT)), { timeout: 30_000, interval: 100 }).toBe(200);
    // The start-up scan lapses the 2019/2020 examples: lapse notices in the outbox.
    await expect
      .poll(() => listAll(dataDir).filter((file) => file.endsWith('.eml')).length, { timeout: 30_000, interval: 200 })
      .toBeGreaterThanOrEqual(1);
    expect((await daemon.stop()).code).toBe(0);
    expect(listAll(dataDir)).toEqual(expect.arrayContaining(['lifecycle.db', 'outbox', 'redis/redis.conf', 'redis/redis.log']));
    expect(findShared(dataDir)).toEqual([]);

    const sandbox = path.join(tempDir('lifecycle-modes-sandbox-'), 'season');
    const simulated = await runLifecycle(['simulate', '--from', '2019-08-15', '--to', '2019-08-20', '--into', sandbox], { dataDir, env, timeoutMs: 60_000 });
    expect(simulated.status).toBe(0);
    expect(listAll(sandbox)).toContain('lifecycle.db');
    expect(findShared(sandbox)).toEqual([]);
  });
});
