import { sql } from 'drizzle-orm';
import { customType, index, integer, pgTable, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * The PostgreSQL schema: `schema.ts` table for table, column for column, index for index (same
 * names), so the same SQL text runs on both. Booleans are 0/1 integers and dates and instants text
 * here too; integer keys are identity columns (`BY DEFAULT`: a copy may write its own ids, then
 * moves the sequence past them). Change both files together, then `npm run db:generate`.
 */
// Dates are `YYYY-MM-DD` text (calendar dates in LIFECYCLE_TZ); instants are ISO-8601 UTC text.

/**
 * Every text column here is `text COLLATE "C"`: compared byte by byte, as SQLite's BINARY compares
 * (ids, dates and instants sort alike on both backends whatever the database's locale), without
 * strcoll and, in sorts, with abbreviated keys: under a libc locale such as C.UTF-8, rebuilding
 * the subscriptions' indexes after an import took a third more CPU (README, Benchmarks). drizzle-orm
 * 0.45 has no collation option for PostgreSQL columns (drizzle-orm issue #638), so this is a
 * custom type whose SQL type names the collation; drizzle-kit writes it as given. Same call as
 * pg-core's `text` (`{ enum }` types the values and, as there, checks nothing in the database).
 */
const textC = customType<{ data: string; driverData: string }>({ dataType: () => 'text COLLATE "C"' });

function text<const Values extends readonly [string, ...string[]] = [string, ...string[]]>(name: string, _config?: { enum: Values }) {
  return textC(name).$type<Values[number]>();
}

export const partners = pgTable('partners', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  locale: text('locale').notNull(),
  isMigrated: integer('is_migrated').notNull(),
  billToLine1: text('bill_to_line1'),
  billToLine2: text('bill_to_line2'),
  billToCity: text('bill_to_city'),
  billToRegion: text('bill_to_region'),
  billToPostalCode: text('bill_to_postal_code'),
  billToCountry: text('bill_to_country'),
  hasBillTo: integer('has_bill_to').notNull(),
  createdAt: text('created_at').notNull(),
  updatedAt: text('updated_at').notNull(),
});

export const contacts = pgTable(
  'contacts',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    partnerId: text('partner_id').notNull().references(() => partners.id),
    name: text('name').notNull(),
    email: text('email').notNull(),
    role: text('role').notNull(),
  },
  (t) => [index('contacts_partner_idx').on(t.partnerId)],
);

export const subscriptions = pgTable(
  'subscriptions',
  {
    id: text('id').primaryKey(),
    partnerId: text('partner_id').notNull(),
    offer: text('offer', { enum: ['action_pack', 'competency'] }).notNull(),
    competencyArea: text('competency_area'),
    competencyLevel: text('competency_level', { enum: ['silver', 'gold'] }),
    purchasedOn: text('purchased_on').notNull(),
    /** The first anniversary as imported (or derived by R1): a change to it resets the cycle. */
    importedAnniversaryOn: text('imported_anniversary_on').notNull(),
    /** The current cycle's anniversary A. */
    anniversaryOn: text('anniversary_on').notNull(),
    isAutoRenew: integer('is_auto_renew').notNull(),
    isRequirementsMet: integer('is_requirements_met').notNull(),
    paymentMethod: text('payment_method', { enum: ['credit_card', 'bank_transfer'] }),
    paymentToken: text('payment_token'),
    paymentContactName: text('payment_contact_name'),
    paymentPhone: text('payment_phone'),
    paymentEmail: text('payment_email'),
    status: text('status', { enum: ['active', 'lapsed', 'cancelled'] }).notNull(),
    /** Actions taken for the current anniversary (bits of policy `actionBits`); the ledger is the proof. */
    doneMask: integer('done_mask').notNull().default(0),
    /** First day something is pending (policy `findNextDueOn`); null when nothing ever will be. */
    nextDueOn: text('next_due_on'),
    cancelledOn: text('cancelled_on'),
    cancelTicket: text('cancel_ticket'),
    lapsedOn: text('lapsed_on'),
    pendingInvoice: text('pending_invoice'),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
  },
  (t) => [
    // A scan reads only rows with something pending on or before its day.
    index('subscriptions_next_due_idx').on(t.nextDueOn, t.id).where(sql`next_due_on IS NOT NULL`),
    index('subscriptions_partner_idx').on(t.partnerId),
    index('subscriptions_anniversary_idx').on(t.anniversaryOn),
    // The console's list filtered by status reads a page of the index, not the table (status is a few values).
    index('subscriptions_status_idx').on(t.status, t.id),
  ],
);

export const invoices = pgTable(
  'invoices',
  {
    seq: integer('seq').primaryKey().generatedByDefaultAsIdentity(),
    number: text('number').notNull().unique(),
    subscriptionId: text('subscription_id').notNull(),
    /** The cycle the charge renews. */
    anniversaryOn: text('anniversary_on').notNull(),
    purpose: text('purpose', { enum: ['auto-renew', 'renewal', 'reactivation'] }).notNull(),
    offer: text('offer').notNull(),
    amountMinor: integer('amount_minor').notNull(),
    currency: text('currency').notNull(),
    method: text('method').notNull(),
    status: text('status', { enum: ['paid', 'pending', 'failed', 'void'] }).notNull(),
    /** The anniversary the subscription moves to once this invoice is paid. */
    renewsTo: text('renews_to').notNull(),
    issuedOn: text('issued_on').notNull(),
    paidOn: text('paid_on'),
    failureReason: text('failure_reason'),
    gatewayRef: text('gateway_ref'),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
  },
  (t) => [
    index('invoices_subscription_idx').on(t.subscriptionId),
    // At most one automatic charge per cycle, however often the auto-renew job runs.
    uniqueIndex('invoices_auto_renew_idx').on(t.subscriptionId, t.anniversaryOn).where(sql`purpose = 'auto-renew'`),
  ],
);

/** The ledger: each (subscription, action, anniversary) takes effect at most once. */
export const actions = pgTable(
  'actions',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    subscriptionId: text('subscription_id').notNull(),
    action: text('action').notNull(),
    anniversaryOn: text('anniversary_on').notNull(),
    /** sent, undeliverable, renewed, pending-payment, failed:REASON, lapsed, skipped:REASON */
    outcome: text('outcome').notNull(),
    /** The calendar day the action took effect (the scan's or job's day, simulated or real). */
    effectiveOn: text('effective_on').notNull(),
    detail: text('detail'),
    jobId: text('job_id'),
    recordedAt: text('recorded_at').notNull(),
  },
  (t) => [
    uniqueIndex('actions_key_idx').on(t.subscriptionId, t.action, t.anniversaryOn),
    index('actions_outcome_idx').on(t.outcome),
  ],
);

/** The outbox: every notice, written with the effect it reports and delivered after it (never lost). */
export const notices = pgTable(
  'notices',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    messageId: text('message_id').notNull().unique(),
    subscriptionId: text('subscription_id').notNull(),
    kind: text('kind').notNull(),
    anniversaryOn: text('anniversary_on').notNull(),
    locale: text('locale').notNull(),
    recipients: text('recipients').notNull(),
    /** The notice's content (mail NoticeData as JSON), fixed when its action took effect. */
    data: text('data').notNull(),
    /** pending → sent (after the SMTP hand-off), or undeliverable (R10: no recipient). */
    status: text('status', { enum: ['pending', 'sent', 'undeliverable'] }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    sentAt: text('sent_at'),
    createdAt: text('created_at').notNull(),
    /**
     * While pending: the instant until which one delivery holds it, between its claim and the
     * 'sent' mark (a job run again while the first run still sends waits for it).
     */
    claimedUntil: text('claimed_until'),
  },
  (t) => [index('notices_subscription_idx').on(t.subscriptionId), index('notices_status_idx').on(t.status)],
);

/** The audit trail: every state change, what, when, why and by whom. */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    at: text('at').notNull(),
    effectiveOn: text('effective_on'),
    subscriptionId: text('subscription_id'),
    partnerId: text('partner_id'),
    event: text('event').notNull(),
    /** scan | job | operator | import */
    actor: text('actor').notNull(),
    actorRef: text('actor_ref'),
    detail: text('detail'),
  },
  (t) => [index('audit_subscription_idx').on(t.subscriptionId, t.id)],
);

export const scanRuns = pgTable(
  'scan_runs',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    asOf: text('as_of').notNull(),
    /** daily | operator | startup | simulate */
    trigger: text('trigger').notNull(),
    status: text('status', { enum: ['running', 'done', 'failed'] }).notNull(),
    startedAt: text('started_at').notNull(),
    finishedAt: text('finished_at'),
    dueCount: integer('due_count').notNull().default(0),
    enqueuedCount: integer('enqueued_count').notNull().default(0),
    missedCount: integer('missed_count').notNull().default(0),
    error: text('error'),
    /** Written by a running scan every few seconds: a daily scan whose heartbeat stopped (its process died) may be taken over. */
    heartbeatAt: text('heartbeat_at'),
  },
  (t) => [
    // One daily scan per day, however many daemons fire it.
    uniqueIndex('scan_runs_daily_idx').on(t.asOf).where(sql`"trigger" = 'daily'`),
    index('scan_runs_started_idx').on(t.startedAt),
  ],
);

/**
 * Named API tokens (`lifecycle tokens`): only the SHA-256 of each token is kept. A name is never
 * reused, even once revoked, so the audit trail's `token:NAME` names one token for good.
 */
export const apiTokens = pgTable('api_tokens', {
  name: text('name').primaryKey(),
  role: text('role', { enum: ['viewer', 'operator'] }).notNull(),
  tokenHash: text('token_hash').notNull().unique(),
  createdAt: text('created_at').notNull(),
  lastUsedAt: text('last_used_at'),
  revokedAt: text('revoked_at'),
});

/**
 * Console sessions (src/ops/session.ts), in the database so that every daemon of a cluster knows
 * every session. Keyed by the SHA-256 of the cookie's value, never the value itself.
 */
export const consoleSessions = pgTable(
  'console_sessions',
  {
    idHash: text('id_hash').primaryKey(),
    csrf: text('csrf').notNull(),
    actorName: text('actor_name').notNull(),
    actorRole: text('actor_role', { enum: ['viewer', 'operator'] }).notNull(),
    actorRef: text('actor_ref').notNull(),
    /** The SHA-256 of the token signed in with (ADMIN_TOKEN's too): a revoked or changed token ends its sessions. */
    tokenHash: text('token_hash').notNull(),
    createdAt: text('created_at').notNull(),
    expiresAt: text('expires_at').notNull(),
  },
  (t) => [index('console_sessions_expires_idx').on(t.expiresAt)],
);

/**
 * The events outbox (SPEC §8): every state change, written with it, then POSTed to
 * EVENTS_WEBHOOK_URL. `id` is the feed's cursor; `event_id` is the stable `webhook-id`.
 */
export const events = pgTable(
  'events',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    eventId: text('event_id').notNull().unique(),
    type: text('type').notNull(),
    occurredAt: text('occurred_at').notNull(),
    subscriptionId: text('subscription_id'),
    partnerId: text('partner_id'),
    /** The body's `data` as JSON, fixed when the change took effect. */
    data: text('data').notNull(),
    /** pending → delivered (a 2xx from the receiver), or failed (retries spent; a scan tries again). */
    status: text('status', { enum: ['pending', 'delivered', 'failed'] }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    deliveredAt: text('delivered_at'),
  },
  (t) => [index('events_status_idx').on(t.status, t.id)],
);
