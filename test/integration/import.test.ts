import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InputError } from '../../src/errors.js';
import { importFile, type ImportOptions, type ImportSummary } from '../../src/import/import-file.js';
import { idMaxLength, maxContacts, textLimits } from '../../src/policy/limits.js';
import { databaseFile, openStore } from '../../src/store/db.js';
import { errorLines, repoRoot, runLifecycle } from '../helpers/cli.js';

const examplesJson = path.join(repoRoot, 'examples/subscriptions.json');
const examplesCsv = path.join(repoRoot, 'examples/subscriptions.csv');
const firstImportAt = new Date('2024-01-10T08:00:00Z');
const secondImportAt = new Date('2024-02-20T09:30:00Z');

let dataDir: string;
let dbFile: string;

beforeEach(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'lifecycle-import-'));
  dbFile = databaseFile(dataDir);
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

async function importInto(file: string, now: Date, options: ImportOptions = {}, into = dbFile): Promise<ImportSummary> {
  const store = openStore(into);
  try {
    return await importFile(store, file, now, options);
  } finally {
    store.close();
  }
}

/** Every row of every table (and the schema), in storage order: equal dumps mean nothing changed. */
function dumpDatabase(file = dbFile): Record<string, unknown[]> {
  const sqlite = new Database(file);
  try {
    const tables = sqlite.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string; sql: string }[];
    const dump: Record<string, unknown[]> = { '(schema)': sqlite.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all() };
    for (const { name } of tables) dump[name] = sqlite.prepare(`SELECT * FROM "${name}" ORDER BY rowid`).all();
    return dump;
  } finally {
    sqlite.close();
  }
}

function query<T>(sql: string, ...params: unknown[]): T[] {
  const sqlite = new Database(dbFile);
  try {
    return sqlite.prepare(sql).all(...params) as T[];
  } finally {
    sqlite.close();
  }
}

function writeFixture(name: string, text: string): string {
  const file = path.join(dataDir, name);
  writeFileSync(file, text);
  return file;
}

const counts = (created: number, updated: number, unchanged: number) => ({ created, updated, unchanged });

describe('importFile: the examples', () => {
  it('imports examples/subscriptions.json', async () => {
    const summary = await importInto(examplesJson, firstImportAt);
    expect(summary).toEqual({ file: examplesJson, format: 'json', partners: counts(4, 0, 0), subscriptions: counts(9, 0, 0) });
    expect(
      query('SELECT id, anniversary_on, is_auto_renew, payment_method, status, done_mask, next_due_on FROM subscriptions WHERE id IN (?, ?, ?) ORDER BY id', 'S-1', 'S-2', 'S-6'),
    ).toEqual([
      // R1: bought 2018-09-01 → anniversary 2019-09-01; next check A − 15.
      { id: 'S-1', anniversary_on: '2019-09-01', is_auto_renew: 1, payment_method: 'credit_card', status: 'active', done_mask: 0, next_due_on: '2019-08-17' },
      // anniversaryOn given in the file wins over R1.
      { id: 'S-2', anniversary_on: '2020-03-10', is_auto_renew: 0, payment_method: null, status: 'active', done_mask: 0, next_due_on: '2020-02-24' },
      { id: 'S-6', anniversary_on: '2019-09-15', is_auto_renew: 1, payment_method: 'bank_transfer', status: 'active', done_mask: 0, next_due_on: '2019-08-31' },
    ]);
    expect(query('SELECT id, locale, is_migrated, bill_to_line1, has_bill_to FROM partners ORDER BY id')).toEqual([
      { id: 'P-1001', locale: 'zh-TW', is_migrated: 1, bill_to_line1: '1 Example Rd', has_bill_to: 1 },
      { id: 'P-1002', locale: 'en', is_migrated: 0, bill_to_line1: '200 Main St', has_bill_to: 1 },
      // An empty line1 is kept: R13 refuses it at renewal, not at import.
      { id: 'P-1003', locale: 'en', is_migrated: 1, bill_to_line1: '', has_bill_to: 1 },
      // Unknown locale "fr" → en (SPEC §2).
      { id: 'P-1004', locale: 'en', is_migrated: 0, bill_to_line1: '5 Rue Exemple', has_bill_to: 1 },
    ]);
    expect(query('SELECT partner_id, email, role FROM contacts ORDER BY id')).toEqual([
      { partner_id: 'P-1001', email: 'mei@contoso.example', role: 'mpn_partner_admin' },
      { partner_id: 'P-1001', email: 'wei@contoso.example', role: 'other' },
      { partner_id: 'P-1002', email: 'ana@fabrikam.example', role: 'global_admin' },
      { partner_id: 'P-1003', email: 'sam@northwind.example', role: 'sales_agent' },
      { partner_id: 'P-1004', email: 'luc@tailspin.example', role: 'other' },
    ]);
  });

  it('imports examples/subscriptions.csv', async () => {
    const summary = await importInto(examplesCsv, firstImportAt);
    expect(summary).toEqual({ file: examplesCsv, format: 'csv', partners: counts(2, 0, 0), subscriptions: counts(3, 0, 0) });
    expect(query('SELECT id, partner_id, offer, competency_area, competency_level, anniversary_on, is_auto_renew FROM subscriptions ORDER BY id')).toEqual([
      { id: 'S-2001', partner_id: 'P-2001', offer: 'action_pack', competency_area: null, competency_level: null, anniversary_on: '2019-09-01', is_auto_renew: 1 },
      { id: 'S-2002', partner_id: 'P-2001', offer: 'competency', competency_area: 'Application Development', competency_level: 'silver', anniversary_on: '2020-01-20', is_auto_renew: 0 },
      { id: 'S-2003', partner_id: 'P-2002', offer: 'action_pack', competency_area: null, competency_level: null, anniversary_on: '2019-10-05', is_auto_renew: 0 },
    ]);
    expect(query('SELECT id, name, bill_to_line1 FROM partners ORDER BY id')).toEqual([
      { id: 'P-2001', name: 'Adventure Works', bill_to_line1: '9 Harbour St' },
      { id: 'P-2002', name: 'Litware, Inc.', bill_to_line1: '3F, No. 7, Sec. 1' },
    ]);
    expect(query('SELECT partner_id, name, email, role FROM contacts ORDER BY id')).toEqual([
      { partner_id: 'P-2001', name: 'Kim Lee', email: 'kim@adventure-works.example', role: 'global_admin' },
      { partner_id: 'P-2001', name: 'Pat Doe', email: 'pat@adventure-works.example', role: 'other' },
      { partner_id: 'P-2002', name: 'Yu Chen', email: 'yu@litware.example', role: 'user_admin' },
    ]);
  });

  it('keeps every contact of a partner with many, in their order, and an update replaces them', async () => {
    const contacts = (n: number, domain: string) =>
      Array.from({ length: n }, (_, i) => ({ name: `Contact ${i}`, email: `c${i}@${domain}`, role: i % 2 === 0 ? 'global_admin' : 'other' }));
    const doc = (n: number, domain: string) => JSON.stringify({ partners: [{ id: 'P-1', name: 'Many Contacts Ltd', contacts: contacts(n, domain) }], subscriptions: [] });
    await importInto(writeFixture('many.json', doc(19, 'many.example')), firstImportAt);
    expect(query("SELECT name, email, role FROM contacts WHERE partner_id = 'P-1' ORDER BY id")).toEqual(contacts(19, 'many.example'));
    const summary = await importInto(writeFixture('fewer.json', doc(3, 'fewer.example')), secondImportAt);
    expect(summary.partners).toEqual(counts(0, 1, 0));
    expect(query("SELECT name, email, role FROM contacts WHERE partner_id = 'P-1' ORDER BY id")).toEqual(contacts(3, 'fewer.example'));
  });

  it('leaves the schema, indexes included, as the migrations made it', async () => {
    openStore(dbFile).close();
    const schema = dumpDatabase()['(schema)'];
    await importInto(examplesJson, firstImportAt);
    expect(dumpDatabase()['(schema)']).toEqual(schema);
    expect(query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'subscriptions' AND sql IS NOT NULL ORDER BY name")).toEqual([
      { name: 'subscriptions_anniversary_idx' },
      { name: 'subscriptions_next_due_idx' },
      { name: 'subscriptions_partner_idx' },
      { name: 'subscriptions_status_idx' },
    ]);
  });

  it('leaves an empty database exactly as it was when a first import is refused', async () => {
    openStore(dbFile).close();
    const before = dumpDatabase();
    const file = writeFixture('one-bad.json', JSON.stringify({ partners: [], subscriptions: [{ id: 'S-1', partnerId: 'P-404', offer: 'action_pack', purchasedOn: '2018-09-01' }] }));
    await expect(importInto(file, firstImportAt)).rejects.toThrow('1 problem; nothing was imported');
    expect(dumpDatabase()).toEqual(before);
  });

  it.each([
    { name: 'JSON', file: examplesJson, partners: 4, subscriptions: 9 },
    { name: 'CSV', file: examplesCsv, partners: 2, subscriptions: 3 },
  ])('re-importing the same $name file changes nothing', async ({ file, partners, subscriptions }) => {
    await importInto(file, firstImportAt);
    const before = dumpDatabase();
    const summary = await importInto(file, secondImportAt);
    expect(summary.partners).toEqual(counts(0, 0, partners));
    expect(summary.subscriptions).toEqual(counts(0, 0, subscriptions));
    expect(dumpDatabase()).toEqual(before);
  });
});

describe('importFile: a changed record updates by id', () => {
  function changedExamples(change: (doc: { partners: Record<string, unknown>[]; subscriptions: Record<string, unknown>[] }) => void): string {
    const doc = JSON.parse(readFileSync(examplesJson, 'utf8')) as { partners: Record<string, unknown>[]; subscriptions: Record<string, unknown>[] };
    change(doc);
    return writeFixture('changed.json', JSON.stringify(doc, null, 2));
  }

  it('updates the changed subscription and partner only, keeps lifecycle state, and writes audit events', async () => {
    await importInto(examplesJson, firstImportAt);
    // As if the daemon had sent S-1's reminder before the correction arrives.
    query("UPDATE subscriptions SET done_mask = 1, next_due_on = '2019-09-01' WHERE id = 'S-1' RETURNING id");
    const before = dumpDatabase();
    const file = changedExamples((doc) => {
      doc.subscriptions[0]!.autoRenew = false;
      doc.partners[1]!.name = 'Fabrikam, Inc. (renamed)';
    });

    const summary = await importInto(file, secondImportAt);

    expect(summary.partners).toEqual(counts(0, 1, 3));
    expect(summary.subscriptions).toEqual(counts(0, 1, 8));
    expect(query("SELECT is_auto_renew, anniversary_on, done_mask, next_due_on, updated_at FROM subscriptions WHERE id = 'S-1'")).toEqual([
      // The reminder stays done; without auto-renew the next thing due is remind-after on A + 23.
      { is_auto_renew: 0, anniversary_on: '2019-09-01', done_mask: 1, next_due_on: '2019-09-24', updated_at: secondImportAt.toISOString() },
    ]);
    expect(query("SELECT name, updated_at FROM partners WHERE id = 'P-1002'")).toEqual([
      { name: 'Fabrikam, Inc. (renamed)', updated_at: secondImportAt.toISOString() },
    ]);
    const after = dumpDatabase();
    expect(after.subscriptions!.filter((row) => (row as { id: string }).id !== 'S-1')).toEqual(
      before.subscriptions!.filter((row) => (row as { id: string }).id !== 'S-1'),
    );
    const events = query<{ subscription_id: string | null; partner_id: string | null; event: string; actor: string; actor_ref: string; detail: string | null }>(
      "SELECT subscription_id, partner_id, event, actor, actor_ref, detail FROM audit_events WHERE at = ? AND event <> 'import' ORDER BY id",
      secondImportAt.toISOString(),
    );
    expect(events).toEqual([
      { subscription_id: null, partner_id: 'P-1002', event: 'partner-updated', actor: 'import', actor_ref: file, detail: null },
      {
        subscription_id: 'S-1',
        partner_id: 'P-1001',
        event: 'subscription-updated',
        actor: 'import',
        actor_ref: file,
        detail: JSON.stringify({ changed: ['isAutoRenew'], isNewCycle: false }),
      },
    ]);
  });

  it('starts the cycle over when the first anniversary changes', async () => {
    await importInto(examplesJson, firstImportAt);
    query("UPDATE subscriptions SET done_mask = 1, next_due_on = '2019-09-01' WHERE id = 'S-1' RETURNING id");
    const file = changedExamples((doc) => {
      doc.subscriptions[0]!.purchasedOn = '2018-10-01';
    });

    const summary = await importInto(file, secondImportAt);

    expect(summary.subscriptions).toEqual(counts(0, 1, 8));
    expect(query("SELECT purchased_on, imported_anniversary_on, anniversary_on, done_mask, next_due_on FROM subscriptions WHERE id = 'S-1'")).toEqual([
      { purchased_on: '2018-10-01', imported_anniversary_on: '2019-10-01', anniversary_on: '2019-10-01', done_mask: 0, next_due_on: '2019-09-16' },
    ]);
    expect(query("SELECT detail FROM audit_events WHERE subscription_id = 'S-1' AND event = 'subscription-updated'")).toEqual([
      { detail: JSON.stringify({ changed: ['purchasedOn', 'anniversaryOn'], isNewCycle: true }) },
    ]);
  });

  it('a corrected first anniversary makes a lapsed subscription active again, voids an old pending invoice, and leaves a cancellation standing', async () => {
    await importInto(examplesJson, firstImportAt);
    // S-1 (A 2019-09-01) lapsed; S-3 (A 2019-09-10) cancelled before A; S-5 (A 2019-09-12) waits for a bank transfer.
    query("UPDATE subscriptions SET status = 'lapsed', lapsed_on = '2019-10-02', done_mask = 15, next_due_on = NULL WHERE id = 'S-1' RETURNING id");
    query("UPDATE subscriptions SET status = 'cancelled', cancelled_on = '2019-08-20', cancel_ticket = 'SR-1', next_due_on = NULL WHERE id = 'S-3' RETURNING id");
    query(
      `INSERT INTO invoices (number, subscription_id, anniversary_on, purpose, offer, amount_minor, currency, method, status, renews_to, issued_on, created_at, updated_at)
       VALUES ('INV-2019-000001', 'S-5', '2019-09-12', 'auto-renew', 'action_pack', 47500, 'USD', 'bank_transfer', 'pending', '2020-09-12', '2019-09-12', 'now', 'now') RETURNING number`,
    );
    query("UPDATE subscriptions SET pending_invoice = 'INV-2019-000001', done_mask = 3 WHERE id = 'S-5' RETURNING id");
    const file = changedExamples((doc) => {
      doc.subscriptions[0]!.purchasedOn = '2018-10-01';
      doc.subscriptions[2]!.purchasedOn = '2018-10-10';
      doc.subscriptions[4]!.purchasedOn = '2018-10-12';
    });

    await importInto(file, secondImportAt);

    expect(
      query("SELECT id, status, imported_anniversary_on, anniversary_on, lapsed_on, pending_invoice, done_mask, next_due_on FROM subscriptions WHERE id IN ('S-1', 'S-3', 'S-5') ORDER BY id"),
    ).toEqual([
      { id: 'S-1', status: 'active', imported_anniversary_on: '2019-10-01', anniversary_on: '2019-10-01', lapsed_on: null, pending_invoice: null, done_mask: 0, next_due_on: '2019-09-16' },
      { id: 'S-3', status: 'cancelled', imported_anniversary_on: '2019-10-10', anniversary_on: '2019-09-10', lapsed_on: null, pending_invoice: null, done_mask: 0, next_due_on: null },
      { id: 'S-5', status: 'active', imported_anniversary_on: '2019-10-12', anniversary_on: '2019-10-12', lapsed_on: null, pending_invoice: null, done_mask: 0, next_due_on: '2019-09-27' },
    ]);
    expect(query("SELECT status, failure_reason FROM invoices WHERE number = 'INV-2019-000001'")).toEqual([{ status: 'void', failure_reason: 'cycle restarted by import' }]);
    const events = query<{ subscription_id: string; event: string; actor: string; detail: string }>(
      "SELECT subscription_id, event, actor, detail FROM audit_events WHERE at = ? AND subscription_id IS NOT NULL ORDER BY id",
      secondImportAt.toISOString(),
    ).map((e) => ({ ...e, detail: JSON.parse(e.detail) as unknown }));
    const changed = ['purchasedOn', 'anniversaryOn'];
    expect(events).toEqual([
      { subscription_id: 'S-1', event: 'subscription-updated', actor: 'import', detail: { changed, isNewCycle: true } },
      {
        subscription_id: 'S-1',
        event: 'reactivated',
        actor: 'import',
        detail: { reason: 'the import corrected the first anniversary: a new cycle starts', from: '2019-09-01', to: '2019-10-01', lapsedOn: '2019-10-02' },
      },
      {
        subscription_id: 'S-3',
        event: 'subscription-updated',
        actor: 'import',
        detail: { changed, isNewCycle: false, keptCancelled: { anniversary: '2019-09-10', cancelledOn: '2019-08-20', benefitsEndOn: '2019-09-10' } },
      },
      { subscription_id: 'S-5', event: 'subscription-updated', actor: 'import', detail: { changed, isNewCycle: true, voidedInvoice: 'INV-2019-000001' } },
    ]);

    // S-1 gets its reminders again: its remind-before (A − 15) is due.
    const scan = await runLifecycle(['scan', '--as-of', '2019-09-16', '--dry-run', '--json'], { dataDir });
    expect(JSON.parse(scan.stdout).actions).toContainEqual({ subscription: 'S-1', action: 'remind-before', anniversary: '2019-10-01' });
    expect(JSON.parse(scan.stdout).actions.map((a: { subscription: string }) => a.subscription)).not.toContain('S-3');
  });
});

describe('importFile: duplicates', () => {
  async function importProblems(file: string): Promise<readonly string[]> {
    try {
      await importInto(file, firstImportAt);
    } catch (error) {
      return (error as InputError).problems;
    }
    throw new Error(`${file} was imported without problems`);
  }

  const partner = (id: string, name = 'Contoso Ltd') => ({ id, name, contacts: [] });
  const subscription = (id: string) => ({ id, partnerId: 'P-1', offer: 'action_pack', purchasedOn: '2018-09-01' });

  it('names the first occurrence of a duplicate id in JSON, the first record included', async () => {
    const file = writeFixture(
      'duplicates.json',
      JSON.stringify({
        partners: [partner('P-1'), partner('P-1'), partner('P-2'), partner('P-2')],
        subscriptions: [subscription('S-1'), subscription('S-2'), subscription('S-1'), subscription('S-2')],
      }),
    );
    expect(await importProblems(file)).toEqual([
      'partners[1].id: duplicate partner id "P-1" (first at partners[0])',
      'partners[3].id: duplicate partner id "P-2" (first at partners[2])',
      'subscriptions[2].id: duplicate subscription id "S-1" (first at subscriptions[0])',
      'subscriptions[3].id: duplicate subscription id "S-2" (first at subscriptions[1])',
    ]);
    expect(query('SELECT count(*) AS n FROM subscriptions')).toEqual([{ n: 0 }]);
  });

  it('names the first line of a duplicate subscription and of a partner that differs between rows in CSV', async () => {
    const file = writeFixture(
      'duplicates.csv',
      [
        'partner_id,partner_name,subscription_id,offer,purchased_on',
        'P-1,Contoso Ltd,S-1,action_pack,2018-09-01',
        'P-1,Contoso Ltd,S-2,action_pack,2018-09-01',
        'P-1,Contoso Limited,S-3,action_pack,2018-09-01',
        'P-1,Contoso Ltd,S-1,action_pack,2018-09-01',
        '',
      ].join('\n'),
    );
    expect(await importProblems(file)).toEqual([
      'line 4: partner "P-1" differs from its first row (line 2)',
      'line 5, subscription_id: duplicate subscription id "S-1" (first at line 2)',
    ]);
  });
});

describe('importFile: parsing in a worker thread (large files) gives what parsing inline gives', () => {
  /** Imports `file` inline into one database and through the worker into another. */
  async function importBothWays(file: string): Promise<{ inline: unknown; worker: unknown }> {
    const outcome = async (parseInWorker: boolean, into: string) => {
      try {
        return { summary: await importInto(file, firstImportAt, { parseInWorker }, into), dump: dumpDatabase(into) };
      } catch (error) {
        const { message, problems } = error as InputError;
        return { error: { name: (error as Error).name, message, problems }, dump: dumpDatabase(into) };
      }
    };
    return { inline: await outcome(false, path.join(dataDir, 'inline.db')), worker: await outcome(true, path.join(dataDir, 'worker.db')) };
  }

  it.each([
    { name: 'the JSON examples', file: () => examplesJson },
    { name: 'the CSV examples', file: () => examplesCsv },
    {
      name: 'a file with problems, duplicates and a partner after its subscription',
      file: () =>
        writeFixture(
          'problems.json',
          JSON.stringify({
            subscriptions: [
              { id: 'S-1', partnerId: 'P-2', offer: 'action_pack', purchasedOn: '2018-09-01' },
              { id: 'S-1', partnerId: 'P-2', offer: 'action_pack', purchasedOn: '2018-09-01' },
              { id: 'S-2', partnerId: 'P-404', offer: 'platinum', purchasedOn: '2019-02-30' },
              { id: 'S-3', partnerId: 'P-404', offer: 'action_pack', purchasedOn: '2019-03-01' },
            ],
            partners: [{ id: 'P-2', name: 'Later Ltd', contacts: [{ name: 'Bo', email: 'bo(at)x', role: 'global_admin' }] }],
          }),
        ),
    },
    { name: 'malformed JSON', file: () => writeFixture('malformed.json', '{"partners": [\n  {"id": "P-1"}\n  {"id": "P-2"}\n]}') },
  ])('$name', async ({ file }) => {
    const { inline, worker } = await importBothWays(file());
    expect(worker).toEqual(inline);
  });

  it('lists the problems of a refused file in the worker as inline, a missing partner beside an invalid date', async () => {
    const file = writeFixture(
      'refused.json',
      JSON.stringify({ partners: [], subscriptions: [{ id: 'S-1', partnerId: 'P-404', offer: 'action_pack', purchasedOn: '2019-02-30' }] }),
    );
    const { inline, worker } = await importBothWays(file);
    expect(worker).toEqual(inline);
    expect(worker).toMatchObject({
      error: {
        name: 'InputError',
        problems: [
          'subscriptions[0].purchasedOn: "2019-02-30" is not a real calendar date (expected YYYY-MM-DD)',
          'subscriptions[0].partnerId: partner "P-404" is neither in the file nor in the database',
        ],
      },
    });
  });

  /** The problems of a refused `file`, parsed inline and in the worker: the same list both ways, the database untouched. */
  async function refusedBothWays(file: string): Promise<readonly string[]> {
    const empty = path.join(dataDir, 'empty.db');
    openStore(empty).close();
    const { inline, worker } = await importBothWays(file);
    expect(worker).toEqual(inline);
    const outcome = inline as { error?: { name: string; problems: string[] }; dump: unknown };
    expect(outcome.error?.name).toBe('InputError');
    expect(outcome.dump).toEqual(dumpDatabase(empty));
    return outcome.error!.problems;
  }

  it('lists the problems of a CSV file in line order, whichever check found them, each record with all of its own', async () => {
    const file = writeFixture(
      'out-of-order.csv',
      [
        'partner_id,partner_name,subscription_id,offer,purchased_on',
        'P-404,,S-1,action_pack,2019-03-01',
        'P-1,Contoso Ltd,S-2,action_pack,2019-03-01',
        'P-1,Contoso Ltd,S-3',
        'P-405,,S-4,platinum,2019-02-30',
        'P-1,Contoso Limited,S-2,action_pack,2019-03-01',
        'P-1,Contoso Ltd,S-5,action_pack,2019-03-01,extra',
        'P-1,Contoso Ltd,S-6,action_pack,2019-03-01',
        '',
      ].join('\n'),
    );
    expect(await refusedBothWays(file)).toEqual([
      'line 2, partner_name: is required',
      // A missing partner is found once the whole file is read; it is listed at its line all the same.
      'line 2, partner_id: partner "P-404" is neither in the file nor in the database',
      'line 4: 3 cells where the header has 5 columns',
      'line 5, partner_name: is required',
      'line 5, offer: "platinum" is not one of action_pack, competency',
      'line 5, purchased_on: "2019-02-30" is not a real calendar date (expected YYYY-MM-DD)',
      'line 5, partner_id: partner "P-405" is neither in the file nor in the database',
      'line 6: partner "P-1" differs from its first row (line 3)',
      'line 6, subscription_id: duplicate subscription id "S-2" (first at line 3)',
      'line 7: 6 cells where the header has 5 columns',
    ]);
  });

  it('lists the problems of a JSON file in document order, each record with all of its own', async () => {
    const file = writeFixture(
      'out-of-order.json',
      JSON.stringify({
        partners: [
          { id: 'P-1', name: 'Contoso Ltd', contacts: [{ name: 'Bo', email: 'bo(at)x', role: 'global_admin' }] },
          { id: 'P-2', name: 'Fabrikam' },
          { id: 'P-2', name: 'Fabrikam', locale: 7 },
        ],
        subscriptions: [
          { id: 'S-1', partnerId: 'P-404', offer: 'action_pack', purchasedOn: '2019-03-01' },
          { id: 'S-2', partnerId: 'P-2', offer: 'action_pack', purchasedOn: '2019-03-01' },
          { id: 'S-2', partnerId: 'P-405', offer: 'action_pack', purchasedOn: '2019-02-30' },
          { id: 'S-3', partnerId: 'P-2', offer: 'action_pack', purchasedOn: '2019-03-01' },
        ],
      }),
    );
    expect(await refusedBothWays(file)).toEqual([
      'partners[0].contacts[0].email: "bo(at)x" is not a valid email address',
      'partners[2].locale: expected a string, got 7',
      'partners[2].id: duplicate partner id "P-2" (first at partners[1])',
      'subscriptions[0].partnerId: partner "P-404" is neither in the file nor in the database',
      'subscriptions[2].purchasedOn: "2019-02-30" is not a real calendar date (expected YYYY-MM-DD)',
      'subscriptions[2].id: duplicate subscription id "S-2" (first at subscriptions[1])',
      'subscriptions[2].partnerId: partner "P-405" is neither in the file nor in the database',
    ]);
  });

  it('lists the first 1,000 problems by position when there are more, missing partners included', async () => {
    const rows = ['partner_id,partner_name,subscription_id,offer,purchased_on'];
    // Lines 2 … 301: a partner without its name, and so missing (found last); lines 302 … 1501: an invalid date each.
    for (let i = 0; i < 300; i++) rows.push(`P-missing-${i},,S-m${i},action_pack,2019-03-01`);
    for (let i = 0; i < 1200; i++) rows.push(`P-1,Contoso Ltd,S-d${i},action_pack,2019-02-30`);
    const problems = await refusedBothWays(writeFixture('many.csv', `${rows.join('\n')}\n`));
    expect(problems).toHaveLength(1001);
    expect(problems.slice(0, 2)).toEqual([
      'line 2, partner_name: is required',
      'line 2, partner_id: partner "P-missing-0" is neither in the file nor in the database',
    ]);
    expect(problems[599]).toBe('line 301, partner_id: partner "P-missing-299" is neither in the file nor in the database');
    expect(problems[600]).toBe('line 302, purchased_on: "2019-02-30" is not a real calendar date (expected YYYY-MM-DD)');
    expect(problems[999]).toBe('line 701, purchased_on: "2019-02-30" is not a real calendar date (expected YYYY-MM-DD)');
    expect(problems[1000]).toBe('… and 800 more problems');
  });

  /** A partner and a subscription with every text field `extra` characters past its limit (0: at it), ids at their widest. */
  function buildAtLimits(extra: number) {
    const text = (max: number, c = 'x') => c.repeat(max + extra);
    const email = (max: number) => `${'m'.repeat(max + extra - '@example.com'.length)}@example.com`;
    const id = (first: string) => `${first}${'.'.repeat(idMaxLength - 1 + extra)}`;
    const contacts = Array.from({ length: maxContacts + extra }, (_, i) => ({ name: i === 0 ? text(textLimits.name, '名') : `C${i}`, email: i === 0 ? email(textLimits.email) : `c${i}@example.com`, role: 'global_admin' }));
    const partner = {
      id: id('P'),
      name: text(textLimits.name),
      billTo: { line1: text(textLimits.addressLine), line2: text(textLimits.addressLine), city: text(textLimits.city), region: text(textLimits.region), postalCode: text(textLimits.postalCode), country: text(textLimits.country) },
      contacts,
    };
    const card = { id: id('S'), partnerId: partner.id, offer: 'competency', competency: { area: text(textLimits.competencyArea), level: 'gold' }, purchasedOn: '2019-03-01', payment: { method: 'credit_card', token: text(textLimits.paymentToken) } };
    const bank = { id: id('T'), partnerId: partner.id, offer: 'action_pack', purchasedOn: '2019-03-01', payment: { method: 'bank_transfer', contactName: text(textLimits.name), phone: text(textLimits.phone, '5'), email: email(textLimits.email) } };
    return { partner, subscriptions: [card, bank] };
  }

  function toCsv({ partner, subscriptions }: ReturnType<typeof buildAtLimits>): string {
    const quote = (cell: string) => `"${cell.replace(/"/g, '""')}"`;
    const header = 'partner_id,partner_name,bill_to_line1,bill_to_line2,bill_to_city,bill_to_region,bill_to_postal_code,bill_to_country,contacts,subscription_id,offer,competency_area,competency_level,purchased_on,payment_method,payment_token,payment_contact_name,payment_phone,payment_email';
    const b = partner.billTo;
    const contacts = partner.contacts.map((c) => `${c.name} <${c.email}> ${c.role}`).join('; ');
    const rows = subscriptions.map((s: Record<string, any>) =>
      [partner.id, partner.name, b.line1, b.line2, b.city, b.region, b.postalCode, b.country, contacts, s.id, s.offer, s.competency?.area ?? '', s.competency?.level ?? '', s.purchasedOn, s.payment.method, s.payment.token ?? '', s.payment.contactName ?? '', s.payment.phone ?? '', s.payment.email ?? '']
        .map(quote)
        .join(','),
    );
    return `${[header, ...rows].join('\n')}\n`;
  }

  it('imports every field at its limit, ids of 64 characters at their widest, in JSON and in CSV', async () => {
    const records = buildAtLimits(0);
    // The CSV file goes into the same databases after the JSON one: it reads as the same records, unchanged.
    for (const [name, text, expected] of [
      ['limits.json', JSON.stringify({ partners: [records.partner], subscriptions: records.subscriptions }), counts(2, 0, 0)],
      ['limits.csv', toCsv(records), counts(0, 0, 2)],
    ] as const) {
      const { inline, worker } = await importBothWays(writeFixture(name, text));
      expect(worker).toEqual(inline);
      expect(inline).toMatchObject({ summary: { subscriptions: expected } });
    }
  });

  it('refuses every field one past its limit, each named with its length, in JSON', async () => {
    const records = buildAtLimits(1);
    const file = writeFixture('past-limits.json', JSON.stringify({ partners: [records.partner], subscriptions: records.subscriptions }));
    const past = (max: number) => `${max + 1} characters, at most ${max}`;
    expect(await refusedBothWays(file)).toEqual([
      `partners[0].id: ${past(idMaxLength)}`,
      `partners[0].name: ${past(textLimits.name)}`,
      `partners[0].billTo.line1: ${past(textLimits.addressLine)}`,
      `partners[0].billTo.city: ${past(textLimits.city)}`,
      `partners[0].billTo.country: ${past(textLimits.country)}`,
      `partners[0].billTo.line2: ${past(textLimits.addressLine)}`,
      `partners[0].billTo.region: ${past(textLimits.region)}`,
      `partners[0].billTo.postalCode: ${past(textLimits.postalCode)}`,
      `partners[0].contacts: ${maxContacts + 1} contacts, at most ${maxContacts}`,
      `subscriptions[0].id: ${past(idMaxLength)}`,
      `subscriptions[0].partnerId: ${past(idMaxLength)}`,
      `subscriptions[0].competency.area: ${past(textLimits.competencyArea)}`,
      `subscriptions[0].payment.token: ${past(textLimits.paymentToken)}`,
      `subscriptions[1].id: ${past(idMaxLength)}`,
      `subscriptions[1].partnerId: ${past(idMaxLength)}`,
      `subscriptions[1].payment.contactName: ${past(textLimits.name)}`,
      `subscriptions[1].payment.phone: ${past(textLimits.phone)}`,
      `subscriptions[1].payment.email: ${past(textLimits.email)}`,
    ]);
  });

  it('refuses every field one past its limit in CSV, naming line and column', async () => {
    const records = buildAtLimits(1);
    records.partner.contacts = records.partner.contacts.slice(0, maxContacts); // the 51st is its own test
    const file = writeFixture('past-limits.csv', toCsv(records));
    const past = (max: number) => `${max + 1} characters, at most ${max}`;
    const partnerProblems = [
      `line 2, partner_id: ${past(idMaxLength)}`,
      `line 2, partner_name: ${past(textLimits.name)}`,
      `line 2, bill_to_line1: ${past(textLimits.addressLine)}`,
      `line 2, bill_to_city: ${past(textLimits.city)}`,
      `line 2, bill_to_country: ${past(textLimits.country)}`,
      `line 2, bill_to_line2: ${past(textLimits.addressLine)}`,
      `line 2, bill_to_region: ${past(textLimits.region)}`,
      `line 2, bill_to_postal_code: ${past(textLimits.postalCode)}`,
      `line 2, contacts (entry 1): ${past(textLimits.name)}`,
      `line 2, contacts (entry 1): ${past(textLimits.email)}`,
    ];
    const problems = await refusedBothWays(file);
    expect(problems).toEqual([
      ...partnerProblems,
      `line 2, subscription_id: ${past(idMaxLength)}`,
      `line 2, partner_id: ${past(idMaxLength)}`,
      `line 2, competency_area: ${past(textLimits.competencyArea)}`,
      `line 2, payment_token: ${past(textLimits.paymentToken)}`,
      // The invalid partner is not recorded: its second row is validated again.
      ...partnerProblems.map((p) => p.replace('line 2', 'line 3')),
      `line 3, subscription_id: ${past(idMaxLength)}`,
      `line 3, partner_id: ${past(idMaxLength)}`,
      `line 3, payment_contact_name: ${past(textLimits.name)}`,
      `line 3, payment_phone: ${past(textLimits.phone)}`,
      `line 3, payment_email: ${past(textLimits.email)}`,
    ]);
  });

  it('names the length of a 5 MiB partner name without quoting it, parsed in the worker as inline', async () => {
    const file = writeFixture('huge-name.json', JSON.stringify({ partners: [{ id: 'P-1', name: 'x'.repeat(5 << 20) }], subscriptions: [] }));
    expect(await refusedBothWays(file)).toEqual(['partners[0].name: 5,242,880 characters, at most 200']);
  });

  it('refuses control characters in JSON contact names, as in CSV, and shows them escaped', async () => {
    const file = writeFixture(
      'controls.json',
      JSON.stringify({ partners: [{ id: 'P-1', name: 'Evil\u001b[2J', contacts: [{ name: 'Mei\r\nBcc: x@example.com', email: 'mei@example.com', role: 'global_admin' }] }], subscriptions: [] }),
    );
    expect(await refusedBothWays(file)).toEqual([
      'partners[0].name: control character U+001B at character 5 (one line of text expected)',
      'partners[0].contacts[0].name: control character U+000D at character 4 (one line of text expected)',
    ]);
  });

  it('imports a JSON file that starts with a byte-order mark as one without', async () => {
    const text = readFileSync(examplesJson);
    const withMark = writeFixture('bom.json', '');
    writeFileSync(withMark, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), text]));
    const { inline, worker } = await importBothWays(withMark);
    expect(worker).toEqual(inline);
    expect(inline).toMatchObject({ summary: { subscriptions: { created: expect.any(Number) } } });
    expect((inline as { summary: ImportSummary }).summary.subscriptions.created).toBeGreaterThan(0);
  });

  it('refuses a top-level key that appears twice instead of merging its arrays', async () => {
    const file = writeFixture(
      'twice.json',
      '{"partners": [{"id": "P-1", "name": "Contoso"}],\n"subscriptions": [],\n"partners": [{"id": "P-2", "name": "Fabrikam"}]}',
    );
    const { inline, worker } = await importBothWays(file);
    expect(worker).toEqual(inline);
    expect(inline).toMatchObject({ error: { name: 'InputError', message: `${file}:3: "partners" appears twice (first on line 1); a file has one of each top-level key` } });
  });
});

describe('lifecycle import: a file large enough to be parsed in a worker thread', () => {
  const subscriptionCount = 24_000;

  /** About 5 MiB of SPEC §2 JSON: past the 4 MiB from which the import parses in a worker. */
  function writeLargeFile(name: string, lastSubscription?: Record<string, unknown>, firstSubscription?: Record<string, unknown>): string {
    const partners = Array.from({ length: subscriptionCount / 4 }, (_, i) => ({
      id: `P-${i}`,
      name: `Partner ${i} of a file large enough to be parsed in a worker thread`,
      locale: i % 2 === 0 ? 'en' : 'zh-TW',
      migratedToPartnerCenter: true,
      billTo: { line1: `${i} Example Road`, city: 'Taipei', postalCode: '100', country: 'TW' },
      contacts: [{ name: `Contact ${i}`, email: `c${i}@p${i}.example`, role: 'mpn_partner_admin' }],
    }));
    const subscriptions: Record<string, unknown>[] = Array.from({ length: subscriptionCount }, (_, i) => ({
      id: `S-${i}`,
      partnerId: `P-${Math.floor(i / 4)}`,
      offer: 'action_pack',
      purchasedOn: `2018-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`,
      autoRenew: i % 2 === 0,
      payment: { method: 'credit_card', token: 'tok_visa' },
    }));
    if (lastSubscription) subscriptions[subscriptions.length - 1] = lastSubscription;
    if (firstSubscription) subscriptions[0] = firstSubscription;
    const file = writeFixture(name, `{"partners": [\n${partners.map((p) => JSON.stringify(p)).join(',\n')}\n],\n"subscriptions": [\n${subscriptions.map((p) => JSON.stringify(p)).join(',\n')}\n]}\n`);
    expect(statSync(file).size).toBeGreaterThan(4 * 2 ** 20);
    return file;
  }

  it('imports it from the built CLI, then re-imports it unchanged', async () => {
    const file = writeLargeFile('large.json');
    const first = await runLifecycle(['import', file, '--json'], { dataDir });
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({
      partners: counts(subscriptionCount / 4, 0, 0),
      subscriptions: counts(subscriptionCount, 0, 0),
    });
    expect(query("SELECT anniversary_on, next_due_on, is_auto_renew FROM subscriptions WHERE id = 'S-13'")).toEqual([
      { anniversary_on: '2019-02-14', next_due_on: '2019-01-30', is_auto_renew: 0 },
    ]);
    const before = dumpDatabase();
    const second = await runLifecycle(['import', file, '--json'], { dataDir });
    expect(second.status).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ subscriptions: counts(0, 0, subscriptionCount) });
    expect(dumpDatabase()).toEqual(before);
  });

  it('reports its progress batch by batch, up to every record read', async () => {
    const file = writeLargeFile('progress.json');
    const seen: { partners: number; subscriptions: number; problems: number }[] = [];
    await importInto(file, firstImportAt, { onProgress: (read) => seen.push({ ...read }) });
    expect(new Set(seen.map((read) => read.subscriptions)).size).toBeGreaterThan(2);
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]!.partners + seen[i]!.subscriptions).toBeGreaterThanOrEqual(seen[i - 1]!.partners + seen[i - 1]!.subscriptions);
    }
    expect(seen.at(-1)).toEqual({ partners: subscriptionCount / 4, subscriptions: subscriptionCount, problems: 0 });
  });

  it('refuses it for its last record, with one line per problem, and leaves the database as it was', async () => {
    openStore(dbFile).close();
    const before = dumpDatabase();
    const last = subscriptionCount - 1;
    const file = writeLargeFile('large-bad.json', { id: `S-${last}`, partnerId: 'P-0', offer: 'action_pack', purchasedOn: '2019-02-29' });
    const result = await runLifecycle(['import', file], { dataDir });
    expect(result.status).toBe(1);
    expect(errorLines(result.stderr)).toEqual([
      `error: subscriptions[${last}].purchasedOn: "2019-02-29" is not a real calendar date (expected YYYY-MM-DD)`,
      `error: ${file}: 1 problem; nothing was imported`,
    ]);
    expect(dumpDatabase()).toEqual(before);
  });

  it('lists every problem of a record and all of them in document order, parsed in the worker', async () => {
    openStore(dbFile).close();
    const before = dumpDatabase();
    const last = subscriptionCount - 1;
    const file = writeLargeFile(
      'large-out-of-order.json',
      { id: `S-${last}`, partnerId: 'P-none-1', offer: 'action_pack', purchasedOn: '2019-02-29' },
      { id: 'S-0', partnerId: 'P-none-0', offer: 'action_pack', purchasedOn: '2018-09-01' },
    );
    const result = await runLifecycle(['import', file], { dataDir });
    expect(result.status).toBe(1);
    expect(errorLines(result.stderr)).toEqual([
      'error: subscriptions[0].partnerId: partner "P-none-0" is neither in the file nor in the database',
      `error: subscriptions[${last}].purchasedOn: "2019-02-29" is not a real calendar date (expected YYYY-MM-DD)`,
      `error: subscriptions[${last}].partnerId: partner "P-none-1" is neither in the file nor in the database`,
      `error: ${file}: 3 problems; nothing was imported`,
    ]);
    expect(dumpDatabase()).toEqual(before);
  });
});

describe('lifecycle import: all or nothing', () => {
  beforeEach(async () => {
    await importInto(examplesJson, firstImportAt);
  });

  async function expectRefused(file: string, expectedProblems: RegExp[], total: number) {
    const before = dumpDatabase();
    const result = await runLifecycle(['import', file], { dataDir });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    const lines = errorLines(result.stderr);
    for (const problem of expectedProblems) expect(lines.filter((line) => problem.test(line)), String(problem)).toHaveLength(1);
    expect(lines).toHaveLength(total + 1);
    expect(lines[lines.length - 1]).toBe(`error: ${file}: ${total} problems; nothing was imported`);
    expect(dumpDatabase()).toEqual(before);
  }

  it('refuses a JSON file with an impossible date, an unknown offer, a missing partner and a malformed email, listing each', async () => {
    const file = writeFixture(
      'bad.json',
      JSON.stringify(
        {
          partners: [
            { id: 'P-9001', name: 'Bad Mail Co', billTo: { line1: '1 Road', city: 'Taipei', postalCode: '100', country: 'TW' }, contacts: [{ name: 'Bo', email: 'bo(at)badmail', role: 'global_admin' }] },
          ],
          subscriptions: [
            { id: 'S-1', partnerId: 'P-1001', offer: 'action_pack', purchasedOn: '2018-09-01', autoRenew: false },
            { id: 'S-9001', partnerId: 'P-1001', offer: 'action_pack', purchasedOn: '2019-02-30' },
            { id: 'S-9002', partnerId: 'P-1001', offer: 'platinum', purchasedOn: '2019-03-01' },
            { id: 'S-9003', partnerId: 'P-404', offer: 'action_pack', purchasedOn: '2019-03-01' },
          ],
        },
        null,
        2,
      ),
    );
    await expectRefused(
      file,
      [
        /^error: partners\[0\]\.contacts\[0\]\.email: "bo\(at\)badmail" is not a valid email address$/,
        /^error: subscriptions\[1\]\.purchasedOn: "2019-02-30" is not a real calendar date/,
        /^error: subscriptions\[2\]\.offer: "platinum" is not one of action_pack, competency$/,
        /^error: subscriptions\[3\]\.partnerId: partner "P-404" is neither in the file nor in the database$/,
      ],
      4,
    );
  });

  it('refuses a CSV file with the same four problems, naming lines and columns', async () => {
    const header =
      'partner_id,partner_name,partner_locale,partner_migrated,bill_to_line1,bill_to_city,bill_to_postal_code,bill_to_country,contacts,subscription_id,offer,purchased_on,auto_renew';
    const file = writeFixture(
      'bad.csv',
      [
        header,
        'P-1001,Contoso Ltd,zh-TW,true,1 Example Rd,Taipei,100,TW,Bo <bo(at)badmail> global_admin,S-9001,action_pack,2019-03-01,false',
        'P-2001,Adventure Works,en,true,9 Harbour St,Sydney,2000,AU,Kim Lee <kim@adventure-works.example> global_admin,S-9002,action_pack,2019-02-30,false',
        'P-2001,Adventure Works,en,true,9 Harbour St,Sydney,2000,AU,Kim Lee <kim@adventure-works.example> global_admin,S-9003,platinum,2019-03-01,false',
        'P-404,,en,true,,,,,,S-9004,action_pack,2019-03-01,false',
        '',
      ].join('\n'),
    );
    await expectRefused(
      file,
      [
        /^error: line 2, contacts \(entry 1\): "bo\(at\)badmail" is not a valid email address$/,
        /^error: line 3, purchased_on: "2019-02-30" is not a real calendar date/,
        /^error: line 4, offer: "platinum" is not one of action_pack, competency$/,
        /^error: line 5, partner_id: partner "P-404" is neither in the file nor in the database$/,
        // A CSV row carries its partner: a missing partner is also a row without the partner's columns.
        /^error: line 5, partner_name: is required$/,
      ],
      5,
    );
  });

  it.each([
    { name: 'a missing .json file', file: 'missing.json', line: /^error: .*missing\.json: no such file$/ },
    { name: 'a missing .csv file', file: 'missing.csv', line: /^error: .*missing\.csv: no such file$/ },
    { name: 'a missing file without an extension', file: 'missing', line: /^error: .*missing: no such file$/ },
    { name: 'a malformed JSON file', file: 'malformed.json', text: '{"partners": [\n  {"id": "P-1"}\n  {"id": "P-2"}\n]}', line: /^error: .*malformed\.json:3: malformed JSON: expected "," or "\]" after partners\[0\]$/ },
    { name: 'a truncated JSON file', file: 'truncated.json', text: '{"partners": [\n  {"id": "P-1"', line: /^error: .*truncated\.json:2: malformed JSON: unexpected end of file$/ },
    {
      name: 'a CSV file with an unclosed quote',
      file: 'unclosed.csv',
      text: 'partner_id,partner_name,subscription_id,offer,purchased_on\nP-1,"Acme,S-1,action_pack,2019-01-01\n',
      line: /^error: .*unclosed\.csv:2: malformed CSV: Quote Not Closed/,
    },
  ])('reports $name with exactly one error line and exit status 1', async ({ file, text, line }) => {
    const target = path.join(dataDir, file);
    if (text !== undefined) writeFileSync(target, text);
    const before = dumpDatabase();
    const result = await runLifecycle(['import', target], { dataDir });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    const lines = errorLines(result.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
    expect(dumpDatabase()).toEqual(before);
  });
});

describe('lifecycle scan and show after importing the examples', () => {
  beforeEach(async () => {
    const result = await runLifecycle(['import', examplesJson], { dataDir });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('subscriptions: 9 created, 0 updated, 0 unchanged');
  });

  it('lists S-1’s remind-before on 2019-08-17 (seed 000: A − 15) as one JSON document', async () => {
    const result = await runLifecycle(['scan', '--as-of', '2019-08-17', '--dry-run', '--json'], { dataDir });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      asOf: '2019-08-17',
      actions: [{ subscription: 'S-1', action: 'remind-before', anniversary: '2019-09-01' }],
    });
  });

  it('catches up on 2019-09-05: auto-renewals from A on, reminders still before A, in next-due order', async () => {
    const result = await runLifecycle(['scan', '--as-of', '2019-09-05', '--dry-run', '--json'], { dataDir });
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      asOf: '2019-09-05',
      actions: [
        { subscription: 'S-1', action: 'auto-renew', anniversary: '2019-09-01' },
        // S-8 (competency, A 2019-09-03): its remind-before is past, nothing else is due.
        { subscription: 'S-4', action: 'auto-renew', anniversary: '2019-09-05' },
        { subscription: 'S-3', action: 'remind-before', anniversary: '2019-09-10' },
        { subscription: 'S-5', action: 'remind-before', anniversary: '2019-09-12' },
        { subscription: 'S-6', action: 'remind-before', anniversary: '2019-09-15' },
        { subscription: 'S-7', action: 'remind-before', anniversary: '2019-09-20' },
      ],
    });
  });

  it('shows S-1 in its renewal window on 2019-09-05', async () => {
    const result = await runLifecycle(['show', 'S-1', '--as-of', '2019-09-05', '--json'], { dataDir });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({
      id: 'S-1',
      asOf: '2019-09-05',
      status: 'renewal-window',
      anniversary: '2019-09-01',
      windowOpens: '2019-09-02',
      windowCloses: '2019-10-01',
      lapsesOn: '2019-10-02',
      exceptions: [],
    });
  });

  it('shows the covid-19-2020 exception of S-2 with its dates', async () => {
    const result = await runLifecycle(['show', 'S-2', '--as-of', '2020-03-15', '--json'], { dataDir });
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      status: 'renewal-window',
      exceptions: [{ id: 'covid-19-2020', isEligible: true, requirementsWaivedUntil: '2021-03-10', reactivationDeadline: '2020-06-30' }],
    });
  });

  it('refuses an unknown subscription with one error line and exit status 1', async () => {
    const result = await runLifecycle(['show', 'S-404', '--json'], { dataDir });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(errorLines(result.stderr)).toEqual(['error: no subscription "S-404" (ids are those given at import)']);
  });
});

describe('lifecycle import: a file that is not there', () => {
  it('is one error line, exit status 1, and creates no data directory', async () => {
    const freshDir = path.join(dataDir, 'never-created');
    const missing = path.join(dataDir, 'no-such-file.json');
    const result = await runLifecycle(['import', missing], { dataDir: freshDir });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(errorLines(result.stderr)).toEqual([`error: ${missing}: no such file`]);
    expect(existsSync(freshDir)).toBe(false);
  });
});

describe('lifecycle usage errors', () => {
  it.each([
    { name: 'an unknown command', args: ['bogus'] },
    { name: 'import without its file', args: ['import'] },
    { name: 'show without its id', args: ['show'] },
    { name: 'an unknown option', args: ['scan', '--dry-run', '--bogus'] },
    { name: 'an option without its value', args: ['scan', '--dry-run', '--as-of'] },
  ])('exits 2 on $name', async ({ args }) => {
    const result = await runLifecycle(args, { dataDir });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(errorLines(result.stderr).length).toBeGreaterThanOrEqual(1);
  });

  it.each([
    { name: 'no command', args: [] },
    { name: 'payments without its subcommand', args: ['payments'] },
    { name: 'tokens without its subcommand', args: ['tokens'] },
  ])('exits 2 on $name, the usage on stderr', async ({ args }) => {
    const result = await runLifecycle(args, { dataDir });
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^Usage: lifecycle/);
    expect(result.status).toBe(2);
  });

  it.each([{ args: ['--help'] }, { args: ['help'] }, { args: ['help', 'payments'] }])('exits 0 on $args, the help on stdout', async ({ args }) => {
    const result = await runLifecycle(args, { dataDir });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: lifecycle/);
  });
});
