import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import { createSessions } from '../../src/ops/session.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitUntilIdle } from '../../src/jobs/queues.js';
import { runScan } from '../../src/jobs/scan.js';
import { addDays } from '../../src/policy/dates.js';
import { copiedTables, copyStore, openCopyTarget } from '../../src/store/copy.js';
import { connectStore } from '../../src/store/db.js';
import type { Row, Store } from '../../src/store/executor.js';
import { createToken } from '../../src/store/tokens.js';
import { errorLines, runLifecycle } from '../helpers/cli.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { createWorld, type World } from '../helpers/world.js';
import { createTestDatabase, isPostgresTested, type TestDatabase } from '../../support/postgres.js';

const A = '2019-09-01';
let redis: TestRedis;
let world: World;
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifecycle-db-copy-test-'));
  dirs.push(dir);
  return dir;
}

/** Every table holds rows: an import, scans before and on the anniversary with their jobs run, a token. */
beforeAll(async () => {
  redis = await startTestRedis();
  world = await createWorld({ REDIS_URL: redis.url }, addDays(A, -15));
  await world.import(
    [
      { id: 'C-card', anniversaryOn: A, autoRenew: true, token: 'tok_visa' },
      { id: 'C-bank', anniversaryOn: A, autoRenew: true, bankTransfer: true },
      { id: 'C-declined', anniversaryOn: A, autoRenew: true, token: 'tok_chargeDeclined' },
      { id: 'C-nobody', anniversaryOn: A, partnerId: 'P-empty' },
      { id: 'C-later', anniversaryOn: addDays(A, 200), offer: 'competency' },
    ],
    [{ id: 'P-1', contacts: 2 }, { id: 'P-empty', contacts: 0 }],
  );
  const runtime = await world.startRuntime();
  for (const day of [addDays(A, -15), A]) {
    world.today = day;
    await runScan(runtime.deps, { trigger: 'operator', asOf: day });
    await waitUntilIdle(runtime.queues.actions);
  }
  const { token } = await createToken(world.store, 'copy-viewer', 'viewer', new Date());
  await createSessions({ store: world.store, adminToken: null }).create({ name: 'copy-viewer', role: 'viewer', ref: 'token:copy-viewer' }, token);
}, 60_000);

afterAll(async () => {
  await world?.close();
  await redis?.stop();
});

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A table's rows in primary-key order, compared in JavaScript: the dialects' collations differ. */
async function readTable(store: Store, table: (typeof copiedTables)[number]): Promise<Row[]> {
  const rows = await store.all(sql`SELECT * FROM ${sql.identifier(table.name)}`);
  const key = (row: Row) => row[table.primaryKey] as string | number;
  return rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

async function expectSameRows(source: Store, target: Store): Promise<void> {
  for (const table of copiedTables) expect({ table: table.name, rows: await readTable(target, table) }).toEqual({ table: table.name, rows: await readTable(source, table) });
}

async function countAll(store: Store): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of copiedTables) counts[table.name] = (await store.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM ${sql.identifier(table.name)}`))!.n;
  return counts;
}

/** A row inserted after the copy: its id must follow the copied ones, not collide with them. */
async function insertAuditEvent(store: Store): Promise<number> {
  const row = await store.get<{ id: number }>(
    sql`INSERT INTO audit_events (at, event, actor) VALUES (${new Date().toISOString()}, ${'copy-test'}, ${'operator'}) RETURNING id`,
  );
  return row!.id;
}

describe('the copied tables', () => {
  it('the world under copy has rows in every table', async () => {
    const counts = await countAll(world.store);
    for (const table of copiedTables) expect({ table: table.name, hasRows: counts[table.name]! > 0 }).toEqual({ table: table.name, hasRows: true });
  });
});

describe('copyStore', () => {
  it('copies SQLite into a new SQLite file: rows equal, counts reported, ids continue after the copied ones', async () => {
    const file = path.join(tempDir(), 'copy.db');
    const target = await openCopyTarget(pathToFileURL(file).href);
    const seen: string[] = [];
    try {
      const counts = await copyStore(world.store, target.store, { pageRows: 3, onProgress: (p) => seen.push(`${p.table} ${p.copied}/${p.total}`) });
      const expected = await countAll(world.store);
      expect(counts).toEqual(copiedTables.map((t) => ({ table: t.name, source: expected[t.name], target: expected[t.name] })));
      expect(seen).toContain(`subscriptions 3/${expected.subscriptions}`);
      expect(seen).toContain(`subscriptions ${expected.subscriptions}/${expected.subscriptions}`);
      await expectSameRows(world.store, target.store);
      const lastId = (await world.store.get<{ id: number }>(sql`SELECT MAX(id) AS id FROM audit_events`))!.id;
      expect(await insertAuditEvent(target.store)).toBe(lastId + 1);
    } finally {
      await target.store.close();
    }
  });

  it('refuses a target that holds rows, and writes nothing into it', async () => {
    const file = path.join(tempDir(), 'copy.db');
    const target = await openCopyTarget(file);
    try {
      await copyStore(world.store, target.store);
      await target.store.run(sql`DELETE FROM contacts`);
      await target.store.run(sql`DELETE FROM partners WHERE id <> 'P-1'`);
      const before = await countAll(target.store);
      await expect(copyStore(world.store, target.store)).rejects.toThrow(/the target is not empty: partners \(1\), subscriptions \(\d+\)/);
      expect(await countAll(target.store)).toEqual(before);
    } finally {
      await target.store.close();
    }
  });

  it('refuses an SQLite file that exists, and leaves it as it was', async () => {
    const file = path.join(tempDir(), 'copy.db');
    await (await openCopyTarget(file)).store.close();
    const taken = await openCopyTarget(file).catch((error: Error) => error);
    expect(String(taken)).toContain(`${file}: already exists`);
  });
});

describe('lifecycle db copy --to', () => {
  it('prints one line per table with both counts and a final line; exit 0', async () => {
    const file = path.join(tempDir(), 'cli.db');
    const result = await runLifecycle(['db', 'copy', '--to', file], { dataDir: world.dir });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const counts = await countAll(world.store);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines.slice(0, -1).map((line) => line.split(/\s+/))).toEqual(copiedTables.map((t) => [t.name, String(counts[t.name]), '→', String(counts[t.name])]));
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    expect(lines.at(-1)).toMatch(new RegExp(`^copied ${total} rows in 11 tables from .*lifecycle\\.db to ${file} in [\\d.]+ s; every count matches$`));
  });

  it('copies a snapshot while another connection holds the write lock: a running daemon is not held up, its uncommitted change not copied', async () => {
    const file = path.join(tempDir(), 'cli.db');
    const writer = new Database(path.join(world.dir, 'lifecycle.db'));
    try {
      writer.exec('BEGIN IMMEDIATE');
      writer.prepare("INSERT INTO api_tokens (name, role, token_hash, created_at) VALUES ('uncommitted', 'viewer', 'h', '2019-01-01T00:00:00.000Z')").run();
      const result = await runLifecycle(['db', 'copy', '--to', file], { dataDir: world.dir, timeoutMs: 20_000 });
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    } finally {
      if (writer.inTransaction) writer.exec('ROLLBACK');
      writer.close();
    }
    const copy = await connectStore({ file }, { mode: 'existing' });
    try {
      expect(await copy.all(sql`SELECT name FROM api_tokens`)).toEqual([{ name: 'copy-viewer' }]);
    } finally {
      await copy.close();
    }
  });

  it('refuses, as one error line and exit 1: a file that exists, an unreachable server, another scheme, a missing source; credentials never shown', async () => {
    const file = path.join(tempDir(), 'cli.db');
    expect((await runLifecycle(['db', 'copy', '--to', file], { dataDir: world.dir })).status).toBe(0);
    const neverWritten = path.join(tempDir(), 'never.db');
    const cases: [string[], string, RegExp][] = [
      [['--to', file], world.dir, /^error: .*cli\.db: already exists/],
      [['--to', 'postgres://copier:hunter22@127.0.0.1:1/lifecycle'], world.dir, /^error: database postgres:\/\/127\.0\.0\.1:1\/lifecycle: .*ECONNREFUSED/],
      [['--to', 'mysql://copier:hunter22@127.0.0.1/lifecycle'], world.dir, /^error: --to mysql:\/\/\*\*\*@127\.0\.0\.1\/lifecycle: expected postgres:\/\/…/],
      [['--to', neverWritten], path.join(tempDir(), 'missing'), /^error: no database at /],
    ];
    for (const [args, dataDir, line] of cases) {
      const result = await runLifecycle(['db', 'copy', ...args], { dataDir });
      expect({ args, status: result.status, stdout: result.stdout }).toEqual({ args, status: 1, stdout: '' });
      expect(errorLines(result.stderr)).toHaveLength(1);
      expect(errorLines(result.stderr)[0]).toMatch(line);
      expect(result.stderr).not.toContain('hunter22');
    }
    expect(existsSync(neverWritten)).toBe(false);
  });
});

/** The URL with a password: under the test server's trust authentication it is never asked for, and must never be shown. */
function withPassword(url: string): string {
  const parsed = new URL(url);
  parsed.password = 'hunter22secret';
  return parsed.toString();
}

describe.skipIf(!(await isPostgresTested()))('copies through PostgreSQL', () => {
  const databases: TestDatabase[] = [];
  async function newDatabase(): Promise<TestDatabase> {
    const database = await createTestDatabase();
    databases.push(database);
    return database;
  }
  afterEach(async () => {
    for (const database of databases.splice(0)) await database.drop();
  });

  it('SQLite → PostgreSQL → SQLite file: every row as it was; each PostgreSQL sequence past the copied ids', async () => {
    const database = await newDatabase();
    const pg = await openCopyTarget(database.url);
    const file = await openCopyTarget(path.join(tempDir(), 'back.db'));
    try {
      const counts = await copyStore(world.store, pg.store, { pageRows: 4 });
      const expected = await countAll(world.store);
      expect(counts).toEqual(copiedTables.map((t) => ({ table: t.name, source: expected[t.name], target: expected[t.name] })));
      await expectSameRows(world.store, pg.store);
      for (const table of copiedTables.filter((t) => t.isKeySequenced)) {
        const key = sql.identifier(table.primaryKey);
        const { last } = (await pg.store.get<{ last: number }>(sql`SELECT COALESCE(MAX(${key}), 0) AS last FROM ${sql.identifier(table.name)}`))!;
        const { next } = (await pg.store.get<{ next: number }>(sql`SELECT nextval(pg_get_serial_sequence(${table.name}, ${table.primaryKey})) AS next`))!;
        expect({ table: table.name, next }).toEqual({ table: table.name, next: last + 1 });
      }
      const lastAudit = (await world.store.get<{ id: number }>(sql`SELECT MAX(id) AS id FROM audit_events`))!.id;
      expect(await insertAuditEvent(pg.store)).toBeGreaterThan(lastAudit);
      await pg.store.run(sql`DELETE FROM audit_events WHERE event = 'copy-test'`);

      expect(await copyStore(pg.store, file.store, { pageRows: 4 })).toEqual(counts);
      await expectSameRows(world.store, file.store);
      expect(await insertAuditEvent(file.store)).toBe(lastAudit + 1);
    } finally {
      await pg.store.close();
      await file.store.close();
    }
  });

  it('refuses a PostgreSQL database that holds rows, and writes nothing into it', async () => {
    const database = await newDatabase();
    const pg = await openCopyTarget(database.url);
    try {
      await pg.store.run(sql`INSERT INTO api_tokens (name, role, token_hash, created_at) VALUES ('kept', 'viewer', 'h', '2019-01-01T00:00:00.000Z')`);
      await expect(copyStore(world.store, pg.store)).rejects.toThrow(/the target is not empty: api_tokens \(1\); a copy goes only into an empty database/);
      const counts = await countAll(pg.store);
      expect(Object.entries(counts).filter(([, n]) => n > 0)).toEqual([['api_tokens', 1]]);
    } finally {
      await pg.store.close();
    }
  });

  it('the CLI copies SQLite into PostgreSQL and, with DATABASE_URL, PostgreSQL into a file; a filled target is one error line; no password shown', async () => {
    const database = await newDatabase();
    const url = withPassword(database.url);
    const counts = await countAll(world.store);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const where = `postgres://${new URL(database.url).host}/${database.name}`;

    const toPg = await runLifecycle(['db', 'copy', '--to', url], { dataDir: world.dir });
    expect({ status: toPg.status, stderr: toPg.stderr }).toEqual({ status: 0, stderr: '' });
    expect(toPg.stdout.split('\n').filter((line) => line.startsWith('subscriptions'))).toEqual([`subscriptions     ${counts.subscriptions} → ${counts.subscriptions}`]);
    expect(toPg.stdout).toContain(`copied ${total} rows in 11 tables from ${path.join(world.dir, 'lifecycle.db')} to ${where} in `);

    const again = await runLifecycle(['db', 'copy', '--to', url], { dataDir: world.dir });
    expect({ status: again.status, stdout: again.stdout }).toEqual({ status: 1, stdout: '' });
    expect(errorLines(again.stderr)).toEqual([expect.stringMatching(new RegExp(`^error: ${where}: the target is not empty: partners \\(2\\), contacts`))]);

    const file = path.join(tempDir(), 'from-pg.db');
    const fromPg = await runLifecycle(['db', 'copy', '--to', file], { dataDir: tempDir(), env: { DATABASE_URL: url } });
    expect({ status: fromPg.status, stderr: fromPg.stderr }).toEqual({ status: 0, stderr: '' });
    expect(fromPg.stdout).toContain(`copied ${total} rows in 11 tables from ${where} to ${file} in `);
    for (const output of [toPg, again, fromPg]) expect(output.stdout + output.stderr).not.toContain('hunter22secret');
    const back = await connectStore({ file }, { mode: 'existing' });
    try {
      await expectSameRows(world.store, back);
    } finally {
      await back.close();
    }
  });
});
