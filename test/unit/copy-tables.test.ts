import { is, sql } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import { copiedTables } from '../../src/store/copy.js';
import { openStore } from '../../src/store/db.js';
import * as schemaPg from '../../src/store/schema-pg.js';

describe('the tables lifecycle db copy copies', () => {
  it('are every table the SQLite migrations create, each with all its columns', async () => {
    const store = openStore(':memory:');
    try {
      const tables = await store.all<{ name: string }>(
        sql`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__drizzle%' ORDER BY name`,
      );
      expect(copiedTables.map((t) => t.name).sort()).toEqual(tables.map((t) => t.name));
      for (const table of copiedTables) {
        const columns = await store.all<{ name: string }>(sql`SELECT name FROM pragma_table_info(${table.name})`);
        expect({ table: table.name, columns: [...table.columns].sort() }).toEqual({ table: table.name, columns: columns.map((c) => c.name).sort() });
      }
    } finally {
      await store.close();
    }
  });

  it('are every table of the PostgreSQL schema, with the same columns and key', () => {
    const pgTables = (Object.values(schemaPg) as unknown[]).filter((value): value is PgTable => is(value, PgTable)).map((table) => getTableConfig(table));
    expect(copiedTables.map((t) => t.name).sort()).toEqual(pgTables.map((t) => t.name).sort());
    for (const table of copiedTables) {
      const pg = pgTables.find((t) => t.name === table.name)!;
      expect({ table: table.name, columns: [...table.columns].sort(), key: pg.columns.filter((c) => c.primary).map((c) => c.name) }).toEqual({
        table: table.name,
        columns: pg.columns.map((c) => c.name).sort(),
        key: [table.primaryKey],
      });
    }
  });

  it('come parents first: contacts and subscriptions after partners, what names a subscription after subscriptions', () => {
    expect(copiedTables.map((t) => t.name)).toEqual(['partners', 'contacts', 'subscriptions', 'invoices', 'actions', 'notices', 'audit_events', 'scan_runs', 'api_tokens', 'events', 'console_sessions']);
    expect(copiedTables.filter((t) => t.isKeySequenced).map((t) => `${t.name}.${t.primaryKey}`)).toEqual([
      'contacts.id',
      'invoices.seq',
      'actions.id',
      'notices.id',
      'audit_events.id',
      'scan_runs.id',
      'events.id',
    ]);
  });
});
