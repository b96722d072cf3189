import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { errorLines, repoRoot, runLifecycle } from '../helpers/cli.js';
import { reapDaemons, spawnDaemon } from '../helpers/daemon.js';
import { findFreePort } from '../helpers/redis.js';
import { createTestDatabase, isPostgresTested, type TestDatabase } from '../../support/postgres.js';

const examples = path.join(repoRoot, 'examples/subscriptions.json');
const dirs: string[] = [];
const databases: TestDatabase[] = [];

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifecycle-cli-pg-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  await reapDaemons();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

afterAll(async () => {
  for (const database of databases.splice(0)) await database.drop();
});

/** The tables of the database's public schema: none until something migrates it. */
async function listTables(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema IN ('public', 'drizzle') ORDER BY 1`);
    return rows.map((row) => row.name);
  } finally {
    await client.end();
  }
}

describe.skipIf(!(await isPostgresTested()))('DATABASE_URL=postgres://… through the CLI', () => {
  it('read-only and operator commands refuse a database without the schema and create nothing; import, start, scan, show, status then run on it', async () => {
    const database = await createTestDatabase();
    databases.push(database);
    const dataDir = tempDir();
    const withPassword = new URL(database.url);
    withPassword.password = 'hunter22';
    const adminPort = await findFreePort();
    const env = { DATABASE_URL: withPassword.toString(), PAYMENT_GATEWAY: 'test', ADMIN_PORT: String(adminPort), LOG_LEVEL: 'warn', JOB_LOCK_MS: '2000' };
    const where = `${new URL(database.url).host}/${database.name}`;

    for (const args of [['status'], ['show', 'S-1'], ['scan', '--dry-run'], ['renew', 'S-1'], ['tokens', 'list']]) {
      const refused = await runLifecycle(args, { dataDir, env });
      expect(refused.status, args.join(' ')).toBe(1);
      expect(refused.stdout).toBe('');
      expect(errorLines(refused.stderr)).toEqual([expect.stringMatching(new RegExp(`^error: no lifecycle data in \\S+${where} \\(its schema was never created`))]);
      expect(refused.stderr).not.toContain('hunter22');
    }
    expect(await listTables(database.url)).toEqual([]);
    expect(readdirSync(dataDir)).toEqual([]);

    const imported = await runLifecycle(['import', examples], { dataDir, env });
    expect(errorLines(imported.stderr)).toEqual([]);
    expect(imported.status).toBe(0);
    expect(await listTables(database.url)).toContain('subscriptions');
    // The data is in PostgreSQL: no SQLite file appears in the data dir.
    expect(readdirSync(dataDir).filter((name) => name.startsWith('lifecycle.db'))).toEqual([]);

    const dryRun = await runLifecycle(['scan', '--dry-run', '--as-of', '2019-08-31', '--json'], { dataDir, env });
    expect(dryRun.status).toBe(0);
    expect((JSON.parse(dryRun.stdout) as { actions: { subscription: string; action: string }[] }).actions).toContainEqual({ subscription: 'S-1', action: 'remind-before', anniversary: '2019-09-30' });

    const daemon = spawnDaemon(dataDir, env);
    // The daemon's clock is the real one: its start-up scan finds every example long past its window and lapses them all.
    const readStatus = async () =>
      JSON.parse((await runLifecycle(['status', '--json'], { dataDir, env })).stdout) as { store: string; subscriptions: Record<string, number>; queues: { reachable: boolean }; recentScans: { trigger: string; status: string }[] };
    await expect.poll(async () => (await readStatus()).subscriptions, { timeout: 30_000, interval: 300 }).toEqual({ lapsed: 9 });
    const s1 = JSON.parse((await runLifecycle(['show', 'S-1', '--json'], { dataDir, env })).stdout) as { status: string; actions: { action: string; outcome: string }[] };
    expect(s1.actions.map((a) => `${a.action} ${a.outcome}`)).toEqual(['remind-before skipped:missed', 'auto-renew skipped:missed', 'remind-after skipped:missed', 'lapse lapsed']);
    // An operator scan through the daemon's queue.
    const scanned = await runLifecycle(['scan', '--as-of', '2019-08-17', '--json'], { dataDir, env, timeoutMs: 60_000 });
    expect(errorLines(scanned.stderr)).toEqual([]);
    expect(JSON.parse(scanned.stdout)).toMatchObject({ asOf: '2019-08-17', due: 0, enqueued: 0 });
    const json = await readStatus();
    expect(json).toMatchObject({ store: `postgres://${where}`, queues: { reachable: true } });
    expect(json.recentScans.map((s) => `${s.trigger} ${s.status}`)).toEqual(['operator done', 'daily done']);

    const status = await runLifecycle(['status'], { dataDir, env });
    expect(status.status).toBe(0);
    expect(status.stdout.split('\n')[0]).toBe(`store          postgres://${where}`);
    expect(status.stdout).toContain('queue actions');
    expect(status.stdout).not.toContain('hunter22');

    expect((await daemon.stop()).code).toBe(0);
    expect(daemon.stderr).not.toContain('hunter22');
  });
});
