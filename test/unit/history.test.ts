import type { SQL } from 'drizzle-orm';
import { SQLiteSyncDialect } from 'drizzle-orm/sqlite-core';
import { describe, expect, it } from 'vitest';
import type { Executor } from '../../src/store/executor.js';
import { readHistory } from '../../src/store/history.js';

/** An executor answering each table's rows as given: JSON columns as text (SQLite) or parsed (a PostgreSQL json column). */
function answering(rows: Record<string, Record<string, unknown>[]>): Executor {
  const dialect = new SQLiteSyncDialect();
  const all = async <T>(query: SQL) => {
    const table = /FROM (\w+)/.exec(dialect.sqlToQuery(query).sql)![1]!;
    return (rows[table] ?? []) as T[];
  };
  return { dialect: 'sqlite', all, get: async () => undefined, run: async () => 0 };
}

const notice = { kind: 'remind-before', anniversary_on: '2019-10-01', message_id: 'm1', status: 'sent', attempts: 1, sent_at: '2019-09-01T10:00:00Z' };
const audit = { at: '2019-09-01T10:00:00Z', effective_on: '2019-09-01', event: 'cancelled', actor: 'operator', actor_ref: 'token:ci' };

describe('readHistory', () => {
  it.each([
    ['text', (value: unknown) => JSON.stringify(value)],
    ['parsed', (value: unknown) => value],
  ])('reads JSON columns stored as %s: recipients as their addresses, audit details as objects', async (_, encode) => {
    const history = await readHistory(
      answering({
        notices: [{ ...notice, recipients: encode([{ email: 'a@example.com', name: 'A' }, { email: 'b@example.com' }]) }],
        audit_events: [{ ...audit, detail: encode({ ticket: 'SR-1' }) }, { ...audit, detail: null }],
      }),
      'S-1',
    );
    expect(history.notices).toEqual([{ kind: 'remind-before', anniversary: '2019-10-01', messageId: 'm1', recipients: ['a@example.com', 'b@example.com'], status: 'sent', attempts: 1, sentAt: '2019-09-01T10:00:00Z' }]);
    expect(history.audit.map((a) => a.detail)).toEqual([{ ticket: 'SR-1' }, null]);
    expect(history.audit[0]).toMatchObject({ effectiveOn: '2019-09-01', actorRef: 'token:ci' });
    expect(history.actions).toEqual([]);
    expect(history.invoices).toEqual([]);
  });
});
