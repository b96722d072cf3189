import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InputError } from '../../src/errors.js';
import { importFile } from '../../src/import/import-file.js';
import { recordEvent } from '../../src/store/events.js';
import type { Store } from '../../src/store/executor.js';
import { storeBackends, type StorePlace } from '../../support/backends.js';

/** The import on each backend: the same counts, rows, audit trail and problems, all or nothing. */
const firstImportAt = new Date('2024-01-10T08:00:00Z');
const secondImportAt = new Date('2024-02-20T09:30:00Z');
const counts = (created: number, updated: number, unchanged: number) => ({ created, updated, unchanged });

const partner = (id: string, name = `Partner ${id}`, contacts = 2) => ({
  id,
  name,
  locale: 'en',
  billTo: { line1: `1 ${id} Rd`, city: 'Seattle', postalCode: '98101', country: 'US' },
  contacts: Array.from({ length: contacts }, (_, i) => ({ name: `Contact ${i}`, email: `c${i}@${id.toLowerCase()}.example`, role: i === 0 ? 'global_admin' : 'other' })),
});
const subscription = (id: string, partnerId: string, extra: Record<string, unknown> = {}) => ({
  id,
  partnerId,
  offer: 'action_pack',
  purchasedOn: '2018-09-01',
  autoRenew: true,
  payment: { method: 'credit_card', token: `tok_${id}` },
  ...extra,
});

describe.each(await storeBackends())('importFile on $name', (backend) => {
  let place: StorePlace;
  let store: Store;
  let dir: string;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'lifecycle-import-backends-'));
    place = await backend.create();
    store = await place.connect();
  });
  afterEach(async () => {
    await place.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  function writeDocument(name: string, document: unknown): string {
    const file = path.join(dir, name);
    writeFileSync(file, JSON.stringify(document));
    return file;
  }

  /** Every row the import writes, in a fixed order: equal dumps mean nothing changed. */
  async function dump(): Promise<Record<string, unknown[]>> {
    return {
      partners: await store.all(sql`SELECT * FROM partners ORDER BY id`),
      contacts: await store.all(sql`SELECT * FROM contacts ORDER BY id`),
      subscriptions: await store.all(sql`SELECT * FROM subscriptions ORDER BY id`),
      audit: await store.all(sql`SELECT * FROM audit_events ORDER BY id`),
      events: await store.all(sql`SELECT * FROM events ORDER BY event_id`),
    };
  }

  async function importError(file: string): Promise<InputError> {
    const error = await importFile(store, file, firstImportAt).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeDefined();
    return error as InputError;
  }

  it('imports new records; the same file again is unchanged and writes nothing', async () => {
    const document = {
      partners: [partner('P-1'), partner('P-2', 'Second', 3)],
      subscriptions: [subscription('S-1', 'P-1'), subscription('S-2', 'P-2', { anniversaryOn: '2020-03-10', autoRenew: false, payment: null })],
    };
    const file = writeDocument('first.json', document);
    const summary = await importFile(store, file, firstImportAt);
    expect(summary).toEqual({ file, format: 'json', partners: counts(2, 0, 0), subscriptions: counts(2, 0, 0) });
    expect(await store.all(sql`SELECT id, anniversary_on, next_due_on, status, done_mask, is_auto_renew, payment_method FROM subscriptions ORDER BY id`)).toEqual([
      { id: 'S-1', anniversary_on: '2019-09-01', next_due_on: '2019-08-17', status: 'active', done_mask: 0, is_auto_renew: 1, payment_method: 'credit_card' },
      { id: 'S-2', anniversary_on: '2020-03-10', next_due_on: '2020-02-24', status: 'active', done_mask: 0, is_auto_renew: 0, payment_method: null },
    ]);
    expect(await store.all(sql`SELECT partner_id, email FROM contacts ORDER BY id`)).toEqual([
      { partner_id: 'P-1', email: 'c0@p-1.example' },
      { partner_id: 'P-1', email: 'c1@p-1.example' },
      { partner_id: 'P-2', email: 'c0@p-2.example' },
      { partner_id: 'P-2', email: 'c1@p-2.example' },
      { partner_id: 'P-2', email: 'c2@p-2.example' },
    ]);
    expect(await store.all(sql`SELECT event, actor, actor_ref FROM audit_events ORDER BY id`)).toEqual([{ event: 'import', actor: 'import', actor_ref: file }]);

    const before = await dump();
    // PostgreSQL: a row's version (xmin) and its last locker (xmax); a write or a row lock changes them.
    const versions = async () =>
      store.dialect === 'postgres'
        ? await store.all(sql`SELECT id, xmin::text AS xmin, xmax::text AS xmax FROM subscriptions
                              UNION ALL SELECT id, xmin::text, xmax::text FROM partners ORDER BY id`)
        : [];
    const versionsBefore = await versions();
    const again = await importFile(store, file, secondImportAt);
    expect(again).toEqual({ file, format: 'json', partners: counts(0, 0, 2), subscriptions: counts(0, 0, 2) });
    expect(await dump()).toEqual(before);
    // No new row version and no new row lock: nothing was written, nor locked.
    expect(await versions()).toEqual(versionsBefore);
  });

  it('updates a changed record by id, keeps the unchanged ones, and audits what changed', async () => {
    await importFile(store, writeDocument('first.json', { partners: [partner('P-1'), partner('P-2')], subscriptions: [subscription('S-1', 'P-1'), subscription('S-2', 'P-2')] }), firstImportAt);
    const file = writeDocument('second.json', {
      partners: [partner('P-1', 'Renamed', 1), partner('P-2'), partner('P-3')],
      subscriptions: [subscription('S-1', 'P-1', { anniversaryOn: '2019-10-01' }), subscription('S-2', 'P-2'), subscription('S-3', 'P-3', { autoRenew: false, payment: null })],
    });
    const summary = await importFile(store, file, secondImportAt);
    expect(summary.partners).toEqual(counts(1, 1, 1));
    expect(summary.subscriptions).toEqual(counts(1, 1, 1));
    expect(await store.all(sql`SELECT id, anniversary_on, imported_anniversary_on, next_due_on, created_at, updated_at FROM subscriptions ORDER BY id`)).toEqual([
      { id: 'S-1', anniversary_on: '2019-10-01', imported_anniversary_on: '2019-10-01', next_due_on: '2019-09-16', created_at: firstImportAt.toISOString(), updated_at: secondImportAt.toISOString() },
      { id: 'S-2', anniversary_on: '2019-09-01', imported_anniversary_on: '2019-09-01', next_due_on: '2019-08-17', created_at: firstImportAt.toISOString(), updated_at: firstImportAt.toISOString() },
      { id: 'S-3', anniversary_on: '2019-09-01', imported_anniversary_on: '2019-09-01', next_due_on: '2019-08-17', created_at: secondImportAt.toISOString(), updated_at: secondImportAt.toISOString() },
    ]);
    expect(await store.all(sql`SELECT id, name, updated_at FROM partners ORDER BY id`)).toEqual([
      { id: 'P-1', name: 'Renamed', updated_at: secondImportAt.toISOString() },
      { id: 'P-2', name: 'Partner P-2', updated_at: firstImportAt.toISOString() },
      { id: 'P-3', name: 'Partner P-3', updated_at: secondImportAt.toISOString() },
    ]);
    expect(await store.all(sql`SELECT partner_id, email FROM contacts WHERE partner_id = 'P-1' ORDER BY id`)).toEqual([{ partner_id: 'P-1', email: 'c0@p-1.example' }]);
    const audit = await store.all<{ event: string; subscription_id: string | null; partner_id: string | null; detail: string | null }>(
      sql`SELECT event, subscription_id, partner_id, detail FROM audit_events WHERE at = ${secondImportAt.toISOString()} ORDER BY event, id`,
    );
    expect(audit.map(({ event, subscription_id, partner_id }) => [event, subscription_id, partner_id])).toEqual([
      ['import', null, null],
      ['partner-updated', null, 'P-1'],
      ['subscription-updated', 'S-1', 'P-1'],
    ]);
    expect(JSON.parse(audit[2]!.detail!)).toEqual({ changed: ['anniversaryOn'], isNewCycle: true });
  });

  it('updates a partner whose contacts alone changed (their order, one field, one more), not one whose contacts are the same', async () => {
    const partners = ['P-1', 'P-2', 'P-3', 'P-4'].map((id) => partner(id));
    await importFile(store, writeDocument('first.json', { partners, subscriptions: [] }), firstImportAt);
    const [p1, p2, p3, p4] = partners.map((p) => structuredClone(p));
    p1!.contacts.reverse();
    p2!.contacts[1]!.email = 'changed@p-2.example';
    p3!.contacts.push({ name: 'Contact 2', email: 'c2@p-3.example', role: 'other' });
    const summary = await importFile(store, writeDocument('second.json', { partners: [p1, p2, p3, p4], subscriptions: [] }), secondImportAt);
    expect(summary.partners).toEqual(counts(0, 3, 1));
    expect(await store.all(sql`SELECT id FROM partners WHERE updated_at = ${secondImportAt.toISOString()} ORDER BY id`)).toEqual([{ id: 'P-1' }, { id: 'P-2' }, { id: 'P-3' }]);
    expect(await store.all(sql`SELECT email FROM contacts WHERE partner_id = 'P-1' ORDER BY id`)).toEqual([{ email: 'c1@p-1.example' }, { email: 'c0@p-1.example' }]);
    expect(await store.all(sql`SELECT count(*) AS n FROM contacts WHERE partner_id = 'P-3'`)).toEqual([{ n: 3 }]);
  });

  it('lists the problems of a bad file in the same words, and writes nothing', async () => {
    const file = writeDocument('bad.json', {
      partners: [partner('P-1')],
      subscriptions: [subscription('S-bad-1', 'P-1', { purchasedOn: '2019-02-30' }), subscription('S-bad-2', 'P-nowhere', { offer: 'platinum' })],
    });
    const error = await importError(file);
    expect(error.message).toBe(`${file}: 3 problems; nothing was imported`);
    expect(error.problems).toEqual([
      'subscriptions[0].purchasedOn: "2019-02-30" is not a real calendar date (expected YYYY-MM-DD)',
      'subscriptions[1].offer: "platinum" is not one of action_pack, competency',
      'subscriptions[1].partnerId: partner "P-nowhere" is neither in the file nor in the database',
    ]);
    expect(await dump()).toEqual({ partners: [], contacts: [], subscriptions: [], audit: [], events: [] });
  });

  it('is all or nothing: a missing partner found after thousands of records were written leaves the database as it was', async () => {
    await importFile(store, writeDocument('first.json', { partners: [partner('P-0')], subscriptions: [subscription('S-0', 'P-0')] }), firstImportAt);
    const before = await dump();
    const partners = Array.from({ length: 1500 }, (_, i) => partner(`P-${i + 1}`, undefined, 1));
    const subscriptions = Array.from({ length: 4500 }, (_, i) => subscription(`S-${i + 1}`, `P-${(i % 1500) + 1}`));
    // Changed and new records first (written, batch by batch), the missing partner last.
    const file = writeDocument('big.json', {
      partners: [partner('P-0', 'Renamed'), ...partners],
      subscriptions: [subscription('S-0', 'P-0', { anniversaryOn: '2019-12-01' }), ...subscriptions, subscription('S-last', 'P-missing')],
    });
    const error = await importError(file);
    expect(error.message).toBe(`${file}: 1 problem; nothing was imported`);
    expect(error.problems).toEqual(['subscriptions[4501].partnerId: partner "P-missing" is neither in the file nor in the database']);
    expect(await dump()).toEqual(before);
    // The partner found in the database is no problem: the same file with it imports.
    await importFile(store, writeDocument('partner.json', { partners: [partner('P-missing')], subscriptions: [] }), firstImportAt);
    const summary = await importFile(store, file, secondImportAt);
    expect(summary.subscriptions).toEqual(counts(4501, 1, 0));
    expect(summary.partners).toEqual(counts(1500, 1, 0));
    expect(await store.get(sql`SELECT count(*) AS n FROM contacts`)).toEqual({ n: 1 + 1 + 1500 + 2 });
  });

  it('is all or nothing into an empty database too (records written straight into the tables are rolled back)', async () => {
    const partners = Array.from({ length: 1500 }, (_, i) => partner(`P-${i + 1}`, undefined, 2));
    const subscriptions = Array.from({ length: 4500 }, (_, i) => subscription(`S-${i + 1}`, `P-${(i % 1500) + 1}`));
    const file = writeDocument('big.json', { partners, subscriptions: [...subscriptions, subscription('S-last', 'P-missing')] });
    const error = await importError(file);
    expect(error.problems).toEqual(['subscriptions[4500].partnerId: partner "P-missing" is neither in the file nor in the database']);
    expect(await dump()).toEqual({ partners: [], contacts: [], subscriptions: [], audit: [], events: [] });
    // The same records without the bad one: every one of them, with its contacts in order.
    const summary = await importFile(store, writeDocument('good.json', { partners, subscriptions }), firstImportAt);
    expect(summary.subscriptions).toEqual(counts(4500, 0, 0));
    expect(await store.get(sql`SELECT count(*) AS n FROM subscriptions`)).toEqual({ n: 4500 });
    expect(await store.all(sql`SELECT partner_id, email FROM contacts WHERE partner_id = 'P-1500' ORDER BY id`)).toEqual([
      { partner_id: 'P-1500', email: 'c0@p-1500.example' },
      { partner_id: 'P-1500', email: 'c1@p-1500.example' },
    ]);
  });

  // Events on PostgreSQL need recordEvent on an Executor (the core store operations): until they land, SQLite only.
  const isEventOnExecutor = recordEvent.constructor.name === 'AsyncFunction';
  it.runIf(backend.name === 'sqlite' || isEventOnExecutor)('reactivates a lapsed subscription whose first anniversary is corrected, with its event and audit', async () => {
    const document = (extra: Record<string, unknown>) => ({ partners: [partner('P-1')], subscriptions: [subscription('S-1', 'P-1', extra)] });
    await importFile(store, writeDocument('first.json', document({})), firstImportAt);
    await store.run(sql`UPDATE subscriptions SET status = 'lapsed', lapsed_on = '2019-09-20', done_mask = 3 WHERE id = 'S-1'`);
    const summary = await importFile(store, writeDocument('second.json', document({ anniversaryOn: '2019-12-01' })), secondImportAt);
    expect(summary.subscriptions).toEqual(counts(0, 1, 0));
    expect(await store.get(sql`SELECT status, lapsed_on, done_mask, anniversary_on, next_due_on FROM subscriptions WHERE id = 'S-1'`)).toEqual({
      status: 'active', lapsed_on: null, done_mask: 0, anniversary_on: '2019-12-01', next_due_on: '2019-11-16',
    });
    expect((await store.all<{ event: string }>(sql`SELECT event FROM audit_events WHERE subscription_id = 'S-1' ORDER BY id`)).map((r) => r.event)).toEqual(['subscription-updated', 'reactivated']);
    expect(await store.all(sql`SELECT type, subscription_id FROM events`)).toEqual([{ type: 'subscription.reactivated', subscription_id: 'S-1' }]);
  });

  it('is all or nothing when a bad record comes after whole batches were written (a COPY still open on PostgreSQL)', async () => {
    const partners = Array.from({ length: 1500 }, (_, i) => partner(`P-${i + 1}`, undefined, 1));
    const subscriptions = Array.from({ length: 4500 }, (_, i) => subscription(`S-${i + 1}`, `P-${(i % 1500) + 1}`, i === 4200 ? { purchasedOn: '2019-02-30' } : {}));
    const error = await importError(writeDocument('bad.json', { partners, subscriptions }));
    expect(error.problems).toEqual(['subscriptions[4200].purchasedOn: "2019-02-30" is not a real calendar date (expected YYYY-MM-DD)']);
    expect(await dump()).toEqual({ partners: [], contacts: [], subscriptions: [], audit: [], events: [] });
    // The connection went back to the pool in a usable state.
    expect((await importFile(store, writeDocument('one.json', { partners: [partner('P-1')], subscriptions: [subscription('S-1', 'P-1')] }), firstImportAt)).subscriptions).toEqual(counts(1, 0, 0));
  });

  it('runs two imports of the same records at once one after the other: one creates, the other finds them unchanged', async () => {
    const file = writeDocument('same.json', { partners: [partner('P-1'), partner('P-2')], subscriptions: [subscription('S-1', 'P-1'), subscription('S-2', 'P-2')] });
    const summaries = await Promise.all([importFile(store, file, firstImportAt), importFile(store, file, firstImportAt)]);
    expect(summaries.map((s) => s.subscriptions).sort((a, b) => b.created - a.created)).toEqual([counts(2, 0, 0), counts(0, 0, 2)]);
    expect(await store.get(sql`SELECT count(*) AS n FROM contacts`)).toEqual({ n: 4 });
  });

  it('validates before it writes when asked (the API import): a bad file never takes the transaction', async () => {
    const file = writeDocument('bad.json', { partners: [], subscriptions: [subscription('S-1', 'P-nowhere')] });
    const error = (await importFile(store, file, firstImportAt, { validateFirst: true }).catch((e: unknown) => e)) as InputError;
    expect(error.problems).toEqual(['subscriptions[0].partnerId: partner "P-nowhere" is neither in the file nor in the database']);
    const good = writeDocument('good.json', { partners: [partner('P-1')], subscriptions: [subscription('S-1', 'P-1')] });
    expect((await importFile(store, good, firstImportAt, { validateFirst: true })).subscriptions).toEqual(counts(1, 0, 0));
  });
});
