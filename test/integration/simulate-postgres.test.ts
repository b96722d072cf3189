import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { copiedTables } from '../../src/store/copy.js';
import { connectStore, type StoreTarget } from '../../src/store/db.js';
import { errorLines, repoRoot, runLifecycle } from '../helpers/cli.js';
import { createTestDatabase, isPostgresTested, type TestDatabase } from '../../support/postgres.js';

const examples = path.join(repoRoot, 'examples/subscriptions.json');
const dirs: string[] = [];
const databases: TestDatabase[] = [];

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifecycle-simulate-pg-test-'));
  dirs.push(dir);
  return dir;
}

async function newDatabase(): Promise<TestDatabase> {
  const database = await createTestDatabase();
  databases.push(database);
  return database;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

afterAll(async () => {
  for (const database of databases.splice(0)) await database.drop();
});

/** Each table's row count and the SHA-256 of its rows in key order: equal fingerprints, equal data. */
async function fingerprint(target: StoreTarget): Promise<Record<string, string>> {
  const store = await connectStore(target, { mode: 'read-only' });
  try {
    const tables: Record<string, string> = {};
    for (const table of copiedTables) {
      const rows = await store.all(sql`SELECT * FROM ${sql.identifier(table.name)} ORDER BY ${sql.identifier(table.primaryKey)}`);
      tables[table.name] = `${rows.length} ${createHash('sha256').update(JSON.stringify(rows)).digest('hex')}`;
    }
    return tables;
  } finally {
    await store.close();
  }
}

const emptyHash = createHash('sha256').digest('hex');

function hashFile(file: string): string | null {
  return existsSync(file) ? createHash('sha256').update(readFileSync(file)).digest('hex') : null;
}

type Days = { days: { date: string; actions: { subscription: string; action: string; outcome: string }[] }[] };

function onDay(result: { stdout: string }, date: string): string[] {
  const { days } = JSON.parse(result.stdout) as Days;
  return days.find((d) => d.date === date)!.actions.map((a) => `${a.subscription} ${a.action} ${a.outcome}`);
}

describe.skipIf(!(await isPostgresTested()))('simulate with PostgreSQL', () => {
  it('--into-database: the sandbox is that empty PostgreSQL database; the configured SQLite file is not changed; a filled database is refused', async () => {
    const dataDir = tempDir();
    const sandbox = path.join(tempDir(), 'sandbox');
    expect((await runLifecycle(['import', examples], { dataDir })).status).toBe(0);
    const file = path.join(dataDir, 'lifecycle.db');
    const before = hashFile(file);
    const data = await fingerprint({ file });
    /** The file's bytes are as they were (a read-only reader may leave an empty -wal beside it: no frame, nothing changed). */
    const expectUnchanged = async () => {
      expect(hashFile(file)).toBe(before);
      expect([null, emptyHash]).toContain(hashFile(`${file}-wal`));
      expect(await fingerprint({ file })).toEqual(data);
    };
    const database = await newDatabase();

    const result = await runLifecycle(['simulate', '--from', '2019-08-31', '--to', '2019-09-05', '--into', sandbox, '--into-database', database.url, '--json'], {
      dataDir,
      env: { PAYMENT_GATEWAY: 'test' },
      timeoutMs: 60_000,
    });
    expect(errorLines(result.stderr)).toEqual([]);
    expect(result.status).toBe(0);
    expect(onDay(result, '2019-09-01')).toEqual(['S-1 auto-renew renewed']);
    const where = `postgres://${new URL(database.url).host}/${database.name}`;
    expect(result.stderr).toContain(`its data in ${where}`);
    expect(result.stderr).toContain(`DATABASE_URL=${where} LIFECYCLE_DATA_DIR=`);
    expect(result.stderr).not.toContain(path.join(sandbox, 'lifecycle.db'));
    await expectUnchanged();
    // The data dir holds the outbox only; the actions are in PostgreSQL.
    expect(readdirSync(sandbox).sort()).toEqual(['outbox']);
    expect(readdirSync(path.join(sandbox, 'outbox'))).toContain('auto-renew-receipt.S-1.2019-09-01.eml');
    const shown = await runLifecycle(['show', 'S-1', '--json'], { dataDir: sandbox, env: { DATABASE_URL: database.url } });
    expect((JSON.parse(shown.stdout) as { actions: { action: string; outcome: string }[] }).actions.map((a) => `${a.action} ${a.outcome}`)).toEqual([
      'remind-before sent',
      'auto-renew renewed',
    ]);
    const sandboxData = await fingerprint({ url: database.url });

    const again = await runLifecycle(['simulate', '--from', '2019-08-31', '--to', '2019-09-01', '--into-database', database.url], { dataDir, timeoutMs: 60_000 });
    expect(again.status).toBe(1);
    expect(errorLines(again.stderr)).toEqual([expect.stringMatching(/: the target is not empty: .*subscriptions \(\d+\)/)]);
    expect(await fingerprint({ url: database.url })).toEqual(sandboxData);
    await expectUnchanged();
  });

  it('a PostgreSQL store simulates in an SQLite sandbox: no PostgreSQL of its own, the configured database unchanged row for row', async () => {
    const seed = tempDir();
    expect((await runLifecycle(['import', examples], { dataDir: seed })).status).toBe(0);
    const source = await newDatabase();
    expect((await runLifecycle(['db', 'copy', '--to', source.url], { dataDir: seed })).status).toBe(0);
    const before = await fingerprint({ url: source.url });

    const dataDir = tempDir();
    const sandbox = path.join(tempDir(), 'sandbox');
    const env = { DATABASE_URL: source.url, PAYMENT_GATEWAY: 'test' };
    const result = await runLifecycle(['simulate', '--from', '2019-08-31', '--to', '2019-09-05', '--into', sandbox, '--json'], { dataDir, env, timeoutMs: 60_000 });
    expect(errorLines(result.stderr)).toEqual([]);
    expect(result.status).toBe(0);
    expect(onDay(result, '2019-09-01')).toEqual(['S-1 auto-renew renewed']);
    expect(result.stderr).toContain(`copy of postgres://${new URL(source.url).host}/${source.name}`);
    expect(result.stderr).toContain('DATABASE_URL= LIFECYCLE_DATA_DIR=');
    expect(readdirSync(sandbox)).toContain('lifecycle.db');
    expect(await fingerprint({ url: source.url })).toEqual(before);
    expect(readdirSync(dataDir)).toEqual([]);
    const inSandbox = await runLifecycle(['show', 'S-1', '--json'], { dataDir: sandbox });
    expect((JSON.parse(inSandbox.stdout) as { actions: { action: string }[] }).actions.map((a) => a.action)).toEqual(['remind-before', 'auto-renew']);
    const configured = await runLifecycle(['show', 'S-1', '--json'], { dataDir, env });
    expect((JSON.parse(configured.stdout) as { actions: unknown[] }).actions).toEqual([]);
  });

  it('--into-database from an SQLite file of an earlier schema (migrations 0000-0003): the sandbox has today\'s schema and the file stays as it was', async () => {
    // The file a daemon of the previous release left, simulated before the new daemon first starts (which would migrate it).
    const dataDir = tempDir();
    const file = path.join(dataDir, 'lifecycle.db');
    copyFileSync(path.join(repoRoot, 'test/fixtures/lifecycle-0003.db'), file);
    const before = hashFile(file);
    const database = await newDatabase();
    const sandbox = path.join(tempDir(), 'sandbox');
    const result = await runLifecycle(['simulate', '--from', '2019-08-31', '--to', '2019-09-02', '--into', sandbox, '--into-database', database.url, '--json'], {
      dataDir,
      env: { PAYMENT_GATEWAY: 'test' },
      timeoutMs: 60_000,
    });
    expect(errorLines(result.stderr)).toEqual([]);
    expect(result.status).toBe(0);
    expect((JSON.parse(result.stdout) as Days).days.map((d) => d.date)).toEqual(['2019-08-31', '2019-09-01', '2019-09-02']);
    expect(hashFile(file)).toBe(before);
    // Every row of the file is in the sandbox database, and the data directory keeps no database of its own.
    expect((await fingerprint({ url: database.url })).subscriptions).toMatch(/^9 /);
    expect(readdirSync(sandbox).filter((entry) => entry.startsWith('lifecycle.db'))).toEqual([]);
  });

  it('refuses a database that does not exist, and an --into-database that is not PostgreSQL, as one line; no sandbox directory is made', async () => {
    const dataDir = tempDir();
    expect((await runLifecycle(['import', examples], { dataDir })).status).toBe(0);
    const database = await newDatabase();
    const missing = new URL(database.url);
    missing.pathname = `/${database.name}_missing`;
    missing.password = 'hunter22';
    const into = path.join(tempDir(), 'sandbox');
    const result = await runLifecycle(['simulate', '--from', '2019-08-31', '--to', '2019-09-01', '--into', into, '--into-database', missing.toString()], { dataDir });
    expect(result.status).toBe(1);
    expect(errorLines(result.stderr)).toEqual([expect.stringMatching(new RegExp(`^error: database \\S+/${database.name}_missing: .*does not exist`))]);
    expect(result.stderr).not.toContain('hunter22');
    expect(existsSync(into)).toBe(false);

    const sqliteUrl = await runLifecycle(['simulate', '--from', '2019-08-31', '--to', '2019-09-01', '--into', into, '--into-database', 'file:/tmp/x.db'], { dataDir });
    expect(errorLines(sqliteUrl.stderr)).toEqual(['error: --into-database file:///tmp/x.db: expected postgres://…/DB (an SQLite sandbox goes into its data directory: --into DIR)']);
    expect(existsSync(into)).toBe(false);
  });
});
