import { sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { once } from 'node:events';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { changedSubscriptionFields, fromSubscriptionImport, type SubscriptionImport } from '../import/import-rows.js';
import { bindValue, type Executor } from './executor.js';
import { copyColumns, copyField, copyStatements, type CopyText, type CopyTextLayout } from './import-copy-text.js';
import {
  emptyCounts,
  findMissingPartners,
  insertImportAudit,
  isRestartNeeded,
  isTableEmpty,
  mergeImportedSubscription,
  restartCycle,
  type ImportContext,
  type ImportBatch,
  type ImportCounts,
  type ImportWriter,
} from './imports.js';
import type { PostgresStore } from './postgres.js';
import { toSubscription, type SubscriptionRow } from './rows.js';
import type { Subscription } from '../policy/types.js';

const compiler = new PgDialect();

/** The subscription columns a record sets, in `SubscriptionImport` order (then `first_due_on`, its `next_due_on` if new). */
const subscriptionColumnList: string = copyColumns.subscriptions;
const subscriptionColumns = sql.raw(subscriptionColumnList);
/** The columns compared to tell a changed record (positions 1 … 13), as a row value of table `t`. */
const comparedSubscription = (t: string) =>
  sql.raw(
    `(${t}.partner_id, ${t}.offer, ${t}.competency_area, ${t}.competency_level, ${t}.purchased_on, ${t}.imported_anniversary_on, ` +
      `${t}.is_auto_renew, ${t}.is_requirements_met, ${t}.payment_method, ${t}.payment_token, ${t}.payment_contact_name, ` +
      `${t}.payment_phone, ${t}.payment_email)`,
  );
const partnerColumns = sql.raw(copyColumns.partners);
const comparedPartner = (t: string) =>
  sql.raw(
    `(${t}.name, ${t}.locale, ${t}.is_migrated, ${t}.bill_to_line1, ${t}.bill_to_line2, ${t}.bill_to_city, ${t}.bill_to_region, ` +
      `${t}.bill_to_postal_code, ${t}.bill_to_country, ${t}.has_bill_to)`,
  );

async function copyIn(client: pg.PoolClient, statement: string, text: string): Promise<void> {
  if (text.length === 0) return;
  const stream = client.query(copyFrom(statement));
  await new Promise<void>((resolve, reject) => {
    stream.on('error', reject);
    stream.on('finish', resolve);
    stream.end(text);
  });
}

/**
 * PostgreSQL: the batches are copied (COPY, text format) into temporary staging tables, then
 * merged into the real tables in `finish` (straight into a table that was empty) with `INSERT … ON CONFLICT (id) DO UPDATE … WHERE`
 * (changed), all in one transaction on one pooled connection. New records are inserted in one
 * statement; changed ones (usually few) are read back, merged with what is stored by the same
 * rules as on SQLite, and written through a second staging table. Unchanged records are not
 * written, nor locked.
 */
export async function createPostgresImportWriter<T>(store: PostgresStore, context: ImportContext, fn: (writer: ImportWriter) => Promise<T>): Promise<T> {
  const client = await store.pool.connect();
  const query = (q: SQL) => {
    const compiled = compiler.sqlToQuery(q);
    return client.query(compiled.sql, compiled.params.map(bindValue));
  };
  const tx: Executor = {
    dialect: 'postgres',
    all: async <R>(q: SQL) => (await query(q)).rows as R[],
    get: async <R>(q: SQL) => (await query(q)).rows[0] as R | undefined,
    run: async (q: SQL) => (await query(q)).rowCount ?? 0,
  };
  let broken = false;
  try {
    await client.query('BEGIN');
    let writer: PostgresImportWriter | undefined;
    try {
      writer = await createWriter(client, tx, context);
      const result = await fn(writer);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      // A COPY still open holds the connection: end it (its rows go with the rollback).
      await writer?.endCopies().catch(() => {
        broken = true;
      });
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw error;
    }
  } finally {
    client.release(broken);
  }
}

interface PostgresImportWriter extends ImportWriter {
  /** Ends the COPY in progress and COPYs the partners held back: the connection is free again. */
  endCopies(): Promise<void>;
}

type Table = keyof CopyText;

/**
 * The connection's COPYs, one at a time. A batch's text for the table it holds most of goes to
 * that table's COPY, left open across batches (the server takes a batch in while the next is
 * parsed); the other tables' text waits in memory. When the main table changes (a JSON file's
 * partners, then its subscriptions), the open COPY ends and the waiting text is copied first.
 */
function createCopyQueue(client: pg.PoolClient, statements: CopyText) {
  const tables = Object.keys(statements) as Table[];
  const waiting: Record<Table, string[]> = { partners: [], contacts: [], subscriptions: [] };
  let open: { table: Table; copy: ReturnType<typeof openCopy> } | undefined;

  async function flushWaiting(): Promise<void> {
    const current = open;
    open = undefined;
    await current?.copy.end();
    for (const table of tables) {
      const text = waiting[table].join('');
      waiting[table] = [];
      await copyIn(client, statements[table], text);
    }
  }

  return {
    async write(text: CopyText): Promise<void> {
      const main = tables.reduce((a, b) => (text[b].length > text[a].length ? b : a));
      if (text[main].length === 0) return;
      if (open?.table !== main) {
        await flushWaiting();
        open = { table: main, copy: openCopy(client, statements[main]) };
      }
      for (const table of tables) if (table !== main && text[table]) waiting[table].push(text[table]);
      await open.copy.write(text[main]);
    },
    /** Ends the COPY in progress and copies the text waiting: the connection is free again. */
    end: flushWaiting,
  };
}

/** One COPY left open across batches: the server takes a batch in while the next is parsed. */
function openCopy(client: pg.PoolClient, statement: string) {
  const stream = client.query(copyFrom(statement));
  const done = new Promise<void>((resolve, reject) => {
    stream.on('error', reject);
    stream.on('finish', resolve);
  });
  // Observed by write() and end(); an early failure must not go unhandled in between.
  done.catch(() => {});
  return {
    async write(text: string): Promise<void> {
      if (!stream.write(text)) await Promise.race([once(stream, 'drain'), done]);
    },
    async end(): Promise<void> {
      stream.end();
      await done;
    },
  };
}

/**
 * Drops the indexes of these tables (primary keys and foreign keys in or into them included) and
 * returns what rebuilds them: into an empty table a COPY then only appends rows, and each index is
 * built once by sorting, at a third of the server's CPU of maintaining it row by row (and of a
 * foreign key's check per row). The rebuild still checks every key. The DDL locks the tables
 * until the commit: a reader of an empty table waits for the import instead of seeing it empty.
 */
async function setIndexesAside(tx: Executor, tables: readonly string[]): Promise<() => Promise<void>> {
  if (tables.length === 0) return async () => {};
  const names = sql.raw(tables.map((t) => `'${t}'::regclass`).join(', '));
  const statements = await tx.all<{ drop: string; create: string; kind: string }>(sql`
    SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname) AS drop,
           format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname, pg_get_constraintdef(oid)) AS create,
           CASE contype WHEN 'f' THEN '1 foreign key' ELSE '2 key' END AS kind
      FROM pg_constraint
     WHERE contype IN ('p', 'u', 'x', 'f') AND (conrelid IN (${names}) OR confrelid IN (${names}))
    UNION ALL
    SELECT format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid), '3 index'
      FROM pg_index i
     WHERE i.indrelid IN (${names})
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
     ORDER BY kind, drop`);
  // Foreign keys go first (they need the keys they refer to) and come back last.
  for (const { drop } of statements) await tx.run(sql.raw(drop));
  return async () => {
    for (const { create } of [...statements].reverse()) await tx.run(sql.raw(create));
  };
}

async function createWriter(client: pg.PoolClient, tx: Executor, context: ImportContext): Promise<PostgresImportWriter> {
  const at = context.now.toISOString();
  // Imports are the only writers creating partners and subscriptions: one at a time (as SQLite's
  // write lock makes them), so a table found empty here stays so until this one commits.
  await tx.run(sql`SELECT pg_advisory_xact_lock(hashtext('membership-lifecycle:import'))`);
  const isFreshPartners = await isTableEmpty(tx, 'partners');
  const isFreshSubscriptions = await isTableEmpty(tx, 'subscriptions');
  // A partners table that is empty has no contacts either (their foreign key).
  const restoreIndexes = await setIndexesAside(tx, [...(isFreshPartners ? ['partners', 'contacts'] : []), ...(isFreshSubscriptions ? ['subscriptions'] : [])]);
  // Staging tables shaped like the real ones (same types), dropped at the commit or rollback.
  await tx.run(sql`CREATE TEMP TABLE import_partners ON COMMIT DROP AS SELECT ${partnerColumns} FROM partners WITH NO DATA`);
  await tx.run(sql`ALTER TABLE import_partners ADD COLUMN seq integer`);
  await tx.run(sql`CREATE TEMP TABLE import_contacts ON COMMIT DROP AS SELECT partner_id, name, email, role FROM contacts WITH NO DATA`);
  await tx.run(sql`ALTER TABLE import_contacts ADD COLUMN seq integer`);
  await tx.run(
    sql`CREATE TEMP TABLE import_subscriptions ON COMMIT DROP AS SELECT ${subscriptionColumns}, next_due_on AS first_due_on FROM subscriptions WITH NO DATA`,
  );
  await tx.run(sql`ALTER TABLE import_subscriptions ADD COLUMN seq integer`);

  const copyTextLayout: CopyTextLayout = { isFreshPartners, isFreshSubscriptions, at };
  const copies = createCopyQueue(client, copyStatements(copyTextLayout));
  /** Records staged (or written, into a fresh table) so far. */
  let partnerSeq = 0;
  let subscriptionSeq = 0;

  /**
   * COPYs a batch (as the parser encoded it) into the staging tables; into the real ones when a
   * table was empty at the start (every record is new, and a failed import rolls them back with
   * the rest).
   */
  async function stage(batch: ImportBatch): Promise<void> {
    if (!batch.copyText) throw new Error('PostgreSQL import: a batch without its COPY text (parse with the writer\'s copyTextLayout)');
    partnerSeq += batch.partnerCount;
    subscriptionSeq += batch.subscriptionCount;
    await copies.write(batch.copyText);
  }

  const endCopies = () => copies.end();

  async function mergePartners(counts: ImportCounts): Promise<void> {
    if (partnerSeq === 0) return;
    if (isFreshPartners) {
      counts.partners.created = partnerSeq;
      return;
    }
    await tx.run(sql`CREATE INDEX ON import_contacts (partner_id, seq)`);
    await tx.run(sql`ANALYZE import_partners`);
    // A partner is new, or its columns or its contacts (in order) differ from what is stored. Each
    // side's contacts become one text per partner (one pass over each table, grouped, rather than
    // two lookups per partner); validation leaves no tab or line break in a contact's fields.
    await tx.run(sql`CREATE TEMP TABLE import_partner_changes ON COMMIT DROP AS
      WITH staged AS (
             SELECT partner_id, string_agg(name || E'\t' || email || E'\t' || role, E'\n' ORDER BY seq) AS contacts
               FROM import_contacts GROUP BY partner_id),
           stored AS (
             SELECT partner_id, string_agg(name || E'\t' || email || E'\t' || role, E'\n' ORDER BY id) AS contacts
               FROM contacts WHERE partner_id IN (SELECT id FROM import_partners) GROUP BY partner_id)
      SELECT s.id, s.seq, p.id IS NULL AS is_new
        FROM import_partners s LEFT JOIN partners p ON p.id = s.id
             LEFT JOIN staged ON staged.partner_id = s.id LEFT JOIN stored ON stored.partner_id = s.id
       WHERE p.id IS NULL OR ${comparedPartner('s')} IS DISTINCT FROM ${comparedPartner('p')}
          OR staged.contacts IS DISTINCT FROM stored.contacts`);
    const changes = await tx.get<{ created: number; updated: number }>(
      sql`SELECT count(*) FILTER (WHERE is_new) AS created, count(*) FILTER (WHERE NOT is_new) AS updated FROM import_partner_changes`,
    );
    counts.partners.created = changes?.created ?? 0;
    counts.partners.updated = changes?.updated ?? 0;
    counts.partners.unchanged = partnerSeq - counts.partners.created - counts.partners.updated;
    if (counts.partners.created + counts.partners.updated === 0) return;
    await tx.run(sql`INSERT INTO partners (${partnerColumns}, created_at, updated_at)
      SELECT ${partnerColumns}, ${at}, ${at} FROM import_partners s WHERE s.id IN (SELECT id FROM import_partner_changes) ORDER BY s.seq
      ON CONFLICT (id) DO UPDATE SET name = excluded.name, locale = excluded.locale, is_migrated = excluded.is_migrated,
        bill_to_line1 = excluded.bill_to_line1, bill_to_line2 = excluded.bill_to_line2, bill_to_city = excluded.bill_to_city,
        bill_to_region = excluded.bill_to_region, bill_to_postal_code = excluded.bill_to_postal_code,
        bill_to_country = excluded.bill_to_country, has_bill_to = excluded.has_bill_to, updated_at = excluded.updated_at`);
    await tx.run(sql`DELETE FROM contacts WHERE partner_id IN (SELECT id FROM import_partner_changes WHERE NOT is_new)`);
    await tx.run(sql`INSERT INTO contacts (partner_id, name, email, role)
      SELECT c.partner_id, c.name, c.email, c.role FROM import_contacts c JOIN import_partner_changes ch ON ch.id = c.partner_id ORDER BY c.seq`);
    await tx.run(sql`INSERT INTO audit_events (at, subscription_id, partner_id, event, actor, actor_ref, detail)
      SELECT ${at}, NULL, id, 'partner-updated', 'import', ${context.source}, NULL FROM import_partner_changes WHERE NOT is_new ORDER BY seq`);
  }

  async function mergeSubscriptions(counts: ImportCounts): Promise<void> {
    if (subscriptionSeq === 0) return;
    if (isFreshSubscriptions) {
      counts.subscriptions.created = subscriptionSeq;
      return;
    }
    await tx.run(sql`ANALYZE import_subscriptions`);
    // The staged records that are new or differ from what is stored, found by one join of the
    // two tables; a re-import of the same file finds none and the statements below have nothing
    // to read. Imports are the only writers of these columns (and take turns on the advisory lock).
    await tx.run(sql`CREATE TEMP TABLE import_subscription_changes ON COMMIT DROP AS
      SELECT s.seq, t.id IS NULL AS is_new FROM import_subscriptions s LEFT JOIN subscriptions t ON t.id = s.id
       WHERE t.id IS NULL OR ${comparedSubscription('s')} IS DISTINCT FROM ${comparedSubscription('t')}`);
    await tx.run(sql`ANALYZE import_subscription_changes`);
    // The stored rows of changed records, locked: their merge reads what they hold.
    const changedRows = await tx.all<SubscriptionRow & { staged: unknown[] }>(sql`
      SELECT json_build_array(s.id, s.partner_id, s.offer, s.competency_area, s.competency_level, s.purchased_on,
               s.imported_anniversary_on, s.is_auto_renew, s.is_requirements_met, s.payment_method, s.payment_token,
               s.payment_contact_name, s.payment_phone, s.payment_email, s.first_due_on) AS staged, t.*
        FROM import_subscription_changes c JOIN import_subscriptions s ON s.seq = c.seq JOIN subscriptions t ON t.id = s.id
       WHERE NOT c.is_new
       ORDER BY s.seq FOR UPDATE OF t`);
    // COLLATE "C" as in the real tables (schema-pg.ts): a join on id then compares in the collation of
    // this table's key (an index serves only comparisons in its own collation).
    await tx.run(sql`CREATE TEMP TABLE import_subscription_updates (id text COLLATE "C" PRIMARY KEY, anniversary_on text COLLATE "C",
      done_mask integer, next_due_on text COLLATE "C", seq integer) ON COMMIT DROP`);
    const restarts: [Subscription, Subscription][] = [];
    let updateText = '';
    let auditText = '';
    const auditPrefix = `${copyField(at)}\t`;
    const auditSource = `\tsubscription-updated\timport\t${copyField(context.source)}\t`;
    for (const [index, stored] of changedRows.entries()) {
      const row = stored.staged as SubscriptionImport;
      const current = toSubscription(stored);
      const storedColumns = [
        stored.partner_id, stored.offer, stored.competency_area, stored.competency_level, stored.purchased_on, stored.imported_anniversary_on,
        stored.is_auto_renew, stored.is_requirements_met, stored.payment_method, stored.payment_token, stored.payment_contact_name,
        stored.payment_phone, stored.payment_email,
      ];
      const changed = changedSubscriptionFields(row, storedColumns);
      const update = mergeImportedSubscription(current, fromSubscriptionImport(row), changed);
      updateText += `${copyField(current.id)}\t${copyField(update.merged.anniversaryOn)}\t${update.merged.doneMask}\t${copyField(update.nextDueOn)}\t${index}\n`;
      auditText += `${auditPrefix}${copyField(current.id)}\t${copyField(row[1])}${auditSource}${copyField(JSON.stringify(update.detail))}\n`;
      if (isRestartNeeded(current, update)) restarts.push([current, update.merged]);
    }
    await copyIn(client, 'COPY import_subscription_updates (id, anniversary_on, done_mask, next_due_on, seq) FROM STDIN', updateText);
    // New records and changed ones; an unchanged record is neither written nor locked. Should a
    // record be changed by someone else since it was compared, the WHERE still writes only a change.
    const written = await tx.run(sql`INSERT INTO subscriptions (${subscriptionColumns}, next_due_on, anniversary_on, status, done_mask,
        created_at, updated_at)
      SELECT ${sql.raw(subscriptionColumnList.split(', ').map((c) => `s.${c}`).join(', '))},
             COALESCE(u.next_due_on, s.first_due_on), COALESCE(u.anniversary_on, s.imported_anniversary_on), 'active',
             COALESCE(u.done_mask, 0), ${at}, ${at}
        FROM import_subscription_changes c JOIN import_subscriptions s ON s.seq = c.seq
             LEFT JOIN import_subscription_updates u ON u.id = s.id
      ON CONFLICT (id) DO UPDATE SET partner_id = excluded.partner_id, offer = excluded.offer, competency_area = excluded.competency_area,
        competency_level = excluded.competency_level, purchased_on = excluded.purchased_on,
        imported_anniversary_on = excluded.imported_anniversary_on, is_auto_renew = excluded.is_auto_renew,
        is_requirements_met = excluded.is_requirements_met, payment_method = excluded.payment_method,
        payment_token = excluded.payment_token, payment_contact_name = excluded.payment_contact_name,
        payment_phone = excluded.payment_phone, payment_email = excluded.payment_email, anniversary_on = excluded.anniversary_on,
        done_mask = excluded.done_mask, next_due_on = excluded.next_due_on, updated_at = excluded.updated_at
      WHERE ${comparedSubscription('subscriptions')} IS DISTINCT FROM ${comparedSubscription('excluded')}`);
    counts.subscriptions.updated = changedRows.length;
    counts.subscriptions.created = written - changedRows.length;
    counts.subscriptions.unchanged = subscriptionSeq - written;
    await copyIn(client, 'COPY audit_events (at, subscription_id, partner_id, event, actor, actor_ref, detail) FROM STDIN', auditText);
    for (const [current, merged] of restarts) await restartCycle(tx, context, current, merged);
  }

  return {
    copyTextLayout,
    write: stage,
    endCopies,
    async findMissingPartners(ids) {
      // The table held none before, and the file does not hold these.
      if (isFreshPartners) return new Set(ids);
      await endCopies();
      return findMissingPartners(tx, ids);
    },
    async finish() {
      await endCopies();
      await restoreIndexes();
      // The merges join the staged records with every stored one: hash tables of a million rows
      // (~130 MB) fit in memory instead of spilling to disk in batches. For this transaction only,
      // and only ever raised.
      await tx.run(sql`SELECT set_config('work_mem', '256MB', true) WHERE pg_size_bytes(current_setting('work_mem')) < pg_size_bytes('256MB')`);
      const counts = emptyCounts();
      await mergePartners(counts);
      await mergeSubscriptions(counts);
      return counts;
    },
    async recordImport(summary) {
      await insertImportAudit(tx, context, { subscriptionId: null, partnerId: null, event: 'import', detail: summary });
    },
  };
}
