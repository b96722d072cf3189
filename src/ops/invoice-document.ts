import { NotFoundError } from '../errors.js';
import { escapeControls } from '../policy/limits.js';
import type { Partner } from '../policy/types.js';
import type { Executor } from '../store/executor.js';
import { findInvoice, type InvoiceRow } from '../store/invoices.js';
import { findPartner, findSubscription } from '../store/queries.js';

export interface InvoiceDocument {
  number: string;
  status: InvoiceRow['status'];
  purpose: InvoiceRow['purpose'];
  subscription: string;
  offer: string;
  /** e.g. "Action Pack", "Competency Cloud Platform (gold)" */
  offerName: string;
  cycle: string;
  renewsTo: string;
  amountMinor: number;
  amount: string;
  currency: string;
  method: string;
  issuedOn: string;
  paidOn: string | null;
  failureReason: string | null;
  gatewayRef: string | null;
  partner: { id: string; name: string; billTo: Partner['billTo'] } | null;
}

/** R12: an invoice as operators download it. */
export async function readInvoiceDocument(ex: Executor, number: string): Promise<InvoiceDocument> {
  const invoice = await findInvoice(ex, number);
  if (!invoice) throw new NotFoundError(`no invoice "${number}"`);
  const subscription = await findSubscription(ex, invoice.subscription_id);
  const partner = subscription ? await findPartner(ex, subscription.partnerId) : null;
  return {
    number: invoice.number,
    status: invoice.status,
    purpose: invoice.purpose,
    subscription: invoice.subscription_id,
    offer: invoice.offer,
    offerName: subscription?.competency ? `Competency ${subscription.competency.area} (${subscription.competency.level})` : invoice.offer === 'action_pack' ? 'Action Pack' : invoice.offer,
    cycle: invoice.anniversary_on,
    renewsTo: invoice.renews_to,
    amountMinor: invoice.amount_minor,
    amount: (invoice.amount_minor / 100).toFixed(2),
    currency: invoice.currency,
    method: invoice.method,
    issuedOn: invoice.issued_on,
    paidOn: invoice.paid_on,
    failureReason: invoice.failure_reason,
    gatewayRef: invoice.gateway_ref,
    partner: partner ? { id: partner.id, name: partner.name, billTo: partner.billTo } : null,
  };
}

/**
 * The plain-text invoice: one field per line, so it reads in any viewer and diffs well. Stored
 * text is escaped (`\r`, `\n` as `\x0d`, `\x0a`): a name holding a line break must not add a
 * line that reads like a field of its own (`Amount:`).
 */
export function formatInvoiceText(invoice: InvoiceDocument): string {
  const one = (text: string) => escapeControls(text);
  const billTo = invoice.partner?.billTo;
  const address = billTo
    ? [billTo.line1, billTo.line2, [billTo.postalCode, billTo.city].filter(Boolean).join(' '), billTo.region, billTo.country].filter(Boolean)
    : ['(no bill-to address on file)'];
  const lines = [
    `INVOICE ${one(invoice.number)}`,
    '',
    `Bill to:      ${invoice.partner ? `${one(invoice.partner.name)} (${one(invoice.partner.id)})` : '(unknown partner)'}`,
    ...address.map((line) => `              ${one(line!)}`),
    '',
    `Subscription: ${one(invoice.subscription)}`,
    `Offer:        ${one(invoice.offerName)}`,
    `Purpose:      ${invoice.purpose}`,
    `Cycle:        ${invoice.cycle} -> ${invoice.renewsTo}`,
    `Amount:       ${invoice.amount} ${one(invoice.currency)}`,
    `Method:       ${one(invoice.method)}`,
    `Status:       ${invoice.status}${invoice.failureReason ? ` (${one(invoice.failureReason)})` : ''}`,
    `Issued on:    ${invoice.issuedOn}`,
    `Paid on:      ${invoice.paidOn ?? '-'}`,
  ];
  if (invoice.gatewayRef) lines.push(`Reference:    ${one(invoice.gatewayRef)}`);
  return `${lines.join('\n')}\n`;
}
