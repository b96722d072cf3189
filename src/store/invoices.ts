import { sql } from 'drizzle-orm';
import { voidReasons } from '../policy/payment.js';
import type { Executor } from './executor.js';

export interface InvoiceRow {
  seq: number;
  number: string;
  subscription_id: string;
  anniversary_on: string;
  purpose: 'auto-renew' | 'renewal' | 'reactivation';
  offer: string;
  amount_minor: number;
  currency: string;
  method: string;
  status: 'paid' | 'pending' | 'failed' | 'void';
  renews_to: string;
  issued_on: string;
  paid_on: string | null;
  failure_reason: string | null;
  gateway_ref: string | null;
}

export interface NewInvoice {
  subscriptionId: string;
  anniversary: string;
  purpose: InvoiceRow['purpose'];
  offer: string;
  amountMinor: number;
  currency: string;
  method: string;
  renewsTo: string;
  issuedOn: string;
  at: Date;
}

/** More concurrent issuers than this taking the same number at once is a fault, not contention. */
const maxNumberAttempts = 50;

/**
 * R12: invoice numbers are `INV-<year issued>-<sequence>`, sequential across the database, with
 * no gap (a rolled-back invoice frees its number). On PostgreSQL two transactions may read the
 * same next number: the primary key keeps one, the other reads the maximum again and retries.
 */
export async function createInvoice(ex: Executor, invoice: NewInvoice): Promise<InvoiceRow> {
  const at = invoice.at.toISOString();
  for (let attempt = 0; attempt < maxNumberAttempts; attempt++) {
    const next = (await ex.get<{ next: number }>(sql`SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM invoices`))!.next;
    const number = `INV-${invoice.issuedOn.slice(0, 4)}-${String(next).padStart(6, '0')}`;
    const row = await ex.get<InvoiceRow>(sql`
      INSERT INTO invoices (seq, number, subscription_id, anniversary_on, purpose, offer, amount_minor, currency, method,
        status, renews_to, issued_on, created_at, updated_at)
      VALUES (${next}, ${number}, ${invoice.subscriptionId}, ${invoice.anniversary}, ${invoice.purpose}, ${invoice.offer},
        ${invoice.amountMinor}, ${invoice.currency}, ${invoice.method}, 'pending', ${invoice.renewsTo}, ${invoice.issuedOn}, ${at}, ${at})
      ON CONFLICT (seq) DO NOTHING
      RETURNING *`);
    if (row) return row;
  }
  throw new Error(`createInvoice: no free invoice number after ${maxNumberAttempts} attempts`);
}

export async function findInvoice(ex: Executor, number: string): Promise<InvoiceRow | null> {
  return (await ex.get<InvoiceRow>(sql`SELECT * FROM invoices WHERE number = ${number}`)) ?? null;
}

export async function findAutoRenewInvoice(ex: Executor, subscriptionId: string, anniversary: string): Promise<InvoiceRow | null> {
  return (
    (await ex.get<InvoiceRow>(sql`
      SELECT * FROM invoices WHERE subscription_id = ${subscriptionId} AND anniversary_on = ${anniversary} AND purpose = 'auto-renew'`)) ?? null
  );
}

export interface InvoiceSettlement {
  status: InvoiceRow['status'];
  paidOn?: string | null;
  failureReason?: string | null;
  gatewayRef?: string | null;
  at: Date;
}

/** Records the gateway's answer on an invoice (paid, pending, failed) or voids it. */
export async function settleInvoice(ex: Executor, number: string, change: InvoiceSettlement): Promise<void> {
  await ex.run(sql`
    UPDATE invoices SET status = ${change.status}, paid_on = COALESCE(${change.paidOn ?? null}, paid_on),
      failure_reason = COALESCE(${change.failureReason ?? null}, failure_reason),
      gateway_ref = COALESCE(${change.gatewayRef ?? null}, gateway_ref), updated_at = ${change.at.toISOString()}
    WHERE number = ${number}`);
}

/**
 * R5 by the payment's day: an invoice the lapse voided, paid by A + 30 after all, becomes paid.
 * False when another transaction got there first (the UPDATE's condition decides, as below).
 */
export async function settleInvoiceVoidedByLapse(ex: Executor, number: string, change: { paidOn: string; at: Date }): Promise<boolean> {
  const updated = await ex.run(sql`
    UPDATE invoices SET status = 'paid', paid_on = ${change.paidOn}, failure_reason = NULL, updated_at = ${change.at.toISOString()}
    WHERE number = ${number} AND status = 'void' AND failure_reason = ${voidReasons.lapsed}`);
  return updated === 1;
}

/**
 * Settles an invoice only while it is pending: false when another transaction settled or voided
 * it first. The condition in the UPDATE decides, on PostgreSQL as on SQLite.
 */
export async function settlePendingInvoice(ex: Executor, number: string, change: InvoiceSettlement): Promise<boolean> {
  const updated = await ex.run(sql`
    UPDATE invoices SET status = ${change.status}, paid_on = COALESCE(${change.paidOn ?? null}, paid_on),
      failure_reason = COALESCE(${change.failureReason ?? null}, failure_reason),
      gateway_ref = COALESCE(${change.gatewayRef ?? null}, gateway_ref), updated_at = ${change.at.toISOString()}
    WHERE number = ${number} AND status = 'pending'`);
  return updated === 1;
}
