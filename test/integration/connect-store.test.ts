import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { forgetSecrets, redact } from '../../src/redact.js';
import { connectStore } from '../../src/store/db.js';
import { findFreePort } from '../../support/ports.js';
import { createTestDatabase, isPostgresTested, type TestDatabase } from '../../support/postgres.js';

const password = 'Sup3r-secret-pw';

afterAll(() => forgetSecrets());

describe('connectStore on a SQLite file', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'lifecycle-connect-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates and migrates a new file; `existing` refuses a missing one', async () => {
    const file = path.join(dir, 'lifecycle.db');
    await expect(connectStore({ file }, { mode: 'existing' })).rejects.toThrow(`no database at ${file}`);
    const store = await connectStore({ file });
    expect([store.dialect, store.location]).toEqual(['sqlite', file]);
    expect(await store.get(sql`SELECT count(*) AS n FROM partners`)).toEqual({ n: 0 });
    await store.close();
  });
});

describe('connectStore on PostgreSQL: failures are one line, without the password', () => {
  it('a server that does not answer', async () => {
    const port = await findFreePort();
    const error = await connectStore({ url: `postgres://app:${password}@127.0.0.1:${port}/lifecycle` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(`database postgres://127.0.0.1:${port}/lifecycle: connect ECONNREFUSED 127.0.0.1:${port}`);
    // Whatever quotes the URL later (a log line, a job's failure) shows no password.
    expect(redact(`postgres://app:${password}@127.0.0.1/x and ${password}`)).not.toContain(password);
  });
});

describe.skipIf(!(await isPostgresTested()))('connectStore on PostgreSQL: modes', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('a database that does not exist: one line naming it', async () => {
    const url = new URL(database.url);
    url.pathname = `/${database.name}_missing`;
    const error = await connectStore({ url: url.toString() }).catch((e: unknown) => e);
    expect((error as Error).message).toBe(`database postgres://${url.host}/${database.name}_missing: database "${database.name}_missing" does not exist`);
  });

  it('`existing` on a database never migrated: refused, nothing created; `create` migrates it; then `existing` opens it', async () => {
    await expect(connectStore({ url: database.url }, { mode: 'existing' })).rejects.toThrow(/no lifecycle data in postgres:\/\/.*: .*start the daemon or import first/);
    const probe = await connectStore({ url: database.url }, { mode: 'read-only' });
    expect(await probe.get(sql`SELECT to_regclass('public.partners')::text AS t`)).toEqual({ t: null });
    await probe.close();
    const created = await connectStore({ url: database.url });
    expect([created.dialect, created.location]).toEqual(['postgres', `postgres://${new URL(database.url).host}/${database.name}`]);
    await created.close();
    const existing = await connectStore({ url: database.url }, { mode: 'existing' });
    expect(await existing.get(sql`SELECT count(*) AS n FROM partners`)).toEqual({ n: 0 });
    await existing.close();
  });

  it('`read-only`: reads, and every write is refused by the server', async () => {
    const store = await connectStore({ url: database.url }, { mode: 'read-only' });
    try {
      expect(await store.get(sql`SELECT count(*) AS n FROM partners`)).toEqual({ n: 0 });
      await expect(store.run(sql`DELETE FROM partners`)).rejects.toThrow(/read-only transaction/);
      await expect(store.transaction((tx) => tx.run(sql`DELETE FROM partners`))).rejects.toThrow(/read-only transaction/);
    } finally {
      await store.close();
    }
  });
});
