import type { Store } from './db.js';

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

/** R12: invoice numbers are `INV-<year issued>-<sequence>`, sequential across the database. */
export function createInvoice(store: Store, invoice: NewInvoice): InvoiceRow {
  const next = (store.sqlite.prepare('SELECT COALESCE(MAX(seq), 0) + 1 FROM invoices').pluck().get() as number) ?? 1;
  const number = `INV-${invoice.issuedOn.slice(0, 4)}-${String(next).padStart(6, '0')}`;
  const at = invoice.at.toISOString();
  store.sqlite
    .prepare(
      `INSERT INTO invoices (seq, number, subscription_id, anniversary_on, purpose, offer, amount_minor, currency, method,
         status, renews_to, issued_on, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)`,
    )
    .run(next, number, invoice.subscriptionId, invoice.anniversary, invoice.purpose, invoice.offer, invoice.amountMinor,
      invoice.currency, invoice.method, invoice.renewsTo, invoice.issuedOn, at, at);
  return findInvoice(store, number)!;
}

export function findInvoice(store: Store, number: string): InvoiceRow | null {
  return (store.sqlite.prepare('SELECT * FROM invoices WHERE number = ?').get(number) as InvoiceRow | undefined) ?? null;
}

export function findAutoRenewInvoice(store: Store, subscriptionId: string, anniversary: string): InvoiceRow | null {
  return (
    (store.sqlite
      .prepare("SELECT * FROM invoices WHERE subscription_id = ? AND anniversary_on = ? AND purpose = 'auto-renew'")
      .get(subscriptionId, anniversary) as InvoiceRow | undefined) ?? null
  );
}

export function settleInvoice(
  store: Store,
  number: string,
  change: { status: InvoiceRow['status']; paidOn?: string | null; failureReason?: string | null; gatewayRef?: string | null; at: Date },
): void {
  store.sqlite
    .prepare(
      `UPDATE invoices SET status = ?, paid_on = COALESCE(?, paid_on), failure_reason = COALESCE(?, failure_reason),
         gateway_ref = COALESCE(?, gateway_ref), updated_at = ? WHERE number = ?`,
    )
    .run(change.status, change.paidOn ?? null, change.failureReason ?? null, change.gatewayRef ?? null, change.at.toISOString(), number);
}
