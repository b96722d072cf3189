import { findFee } from '../billing/prices.js';
import { defaultBillToUrl, defaultPaymentInstructions, type Config } from '../config.js';
import { buildMessageId } from '../mail/headers.js';
import type { AutoRenewalOutlook, NoticeAudience, NoticeData, NoticeKind, RenewalFailureReason } from '../mail/types.js';
import { findCycleDates } from '../policy/cycle.js';
import { daysBetween } from '../policy/dates.js';
import { checkAutoRenewal } from '../policy/renewal.js';
import { findExceptions } from '../policy/exceptions.js';
import { selectRecipients } from '../policy/recipients.js';
import type { Partner, Subscription } from '../policy/types.js';
import { recordEvent } from '../store/events.js';
import type { Executor } from '../store/executor.js';
import { findInvoice, type InvoiceRow } from '../store/invoices.js';
import { addNoticeToOutbox } from '../store/notices.js';
import type { JobDeps } from './deps.js';

/** SPEC §3's Message-ID of the notice `kind` for one cycle. */
export function findMessageId(kind: NoticeKind, subscriptionId: string, anniversary: string, domain: string): string {
  return buildMessageId({ kind, subscriptionId, anniversary }, domain);
}

export interface NoticeExtras {
  newAnniversary?: string;
  invoice?: InvoiceRow | null;
  failureReason?: RenewalFailureReason;
  /** The program day the notice is written: what it offers is decided as of this day (a late remind-after counts the days really left). */
  writtenOn?: string;
  /** The Date header (see findNoticeClock). @defaultValue the write time */
  messageDate?: Date;
  /** The payment gateway in use: under `manual` every charge, a card's included, becomes a pending invoice. */
  gatewayName?: string;
}

/** The config a notice reads; the newer settings fall back to their defaults for callers that hold only the links. */
export type NoticeConfig = Pick<Config, 'renewUrl' | 'supportUrl'> & Partial<Pick<Config, 'billToUrl' | 'paymentInstructions' | 'timeZone'>>;

/**
 * The day a job writes a notice and the Date its message carries. In the daemon that is now; in
 * `simulate`, whose today() is the simulated day while now() is the wall clock, the same time of
 * day on the simulated day, so a message's Date: is the day it speaks for.
 */
export function findNoticeClock(deps: Pick<JobDeps, 'today' | 'now' | 'config'>): { writtenOn: string; messageDate: Date } {
  const writtenOn = deps.today();
  const now = deps.now();
  const shift = daysBetween(findProgramDay(deps.config.timeZone, now), writtenOn);
  return { writtenOn, messageDate: shift === 0 ? now : new Date(now.getTime() + shift * 86_400_000) };
}

// One formatter per time zone: building an Intl.DateTimeFormat costs more than the rest of writing a notice.
const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** todayIn, with its formatter kept. */
function findProgramDay(timeZone: string, now: Date): string {
  let format = dayFormats.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dayFormats.set(timeZone, format);
  }
  return format.format(now);
}

/** The notice's content, fixed from the subscription as it was when the action took effect. */
export function buildNoticeData(
  config: NoticeConfig,
  kind: NoticeKind,
  subscription: Subscription,
  partner: Partner,
  extras: NoticeExtras = {},
): NoticeData {
  const dates = findCycleDates(subscription.anniversaryOn);
  const exception = findExceptions(subscription, partner)[0];
  const isAutoRenewing = subscription.offer === 'action_pack' && subscription.isAutoRenew && subscription.status === 'active';
  const data: NoticeData = {
    kind,
    locale: partner.locale,
    subscriptionId: subscription.id,
    partner: { id: partner.id, name: partner.name },
    offer: { kind: subscription.offer, ...(subscription.competency ? { competency: subscription.competency } : {}) },
    anniversary: subscription.anniversaryOn,
    windowOpens: dates.windowOpens,
    windowCloses: dates.windowCloses,
    lapsesOn: dates.lapsesOn,
    isAutoRenewing,
    renewUrl: config.renewUrl,
    supportUrl: config.supportUrl,
    billToUrl: config.billToUrl ?? defaultBillToUrl,
  };
  if (extras.writtenOn) data.writtenOn = extras.writtenOn;
  if (extras.messageDate) data.messageDate = extras.messageDate.toISOString();
  if (extras.newAnniversary) data.newAnniversary = extras.newAnniversary;
  if (kind === 'remind-after' && extras.writtenOn) data.daysLeft = Math.max(1, daysBetween(extras.writtenOn, dates.windowCloses));
  if (kind === 'remind-before' && isAutoRenewing) data.autoRenewal = foreseeAutoRenewal(subscription, partner, dates.windowCloses, extras.gatewayName);
  if (extras.failureReason) data.failureReason = extras.failureReason;
  if (exception?.requirementsWaivedUntil && exception.reactivationDeadline) {
    data.exception = {
      id: 'covid-19-2020',
      isEligible: exception.isEligible,
      requirementsWaivedUntil: exception.requirementsWaivedUntil,
      reactivationDeadline: exception.reactivationDeadline,
    };
  }
  if (extras.invoice) {
    const i = extras.invoice;
    data.invoice = {
      number: i.number,
      amount: (i.amount_minor / 100).toFixed(2),
      currency: i.currency,
      method: i.method as 'credit_card' | 'bank_transfer',
      status: i.status,
      issuedOn: i.issued_on,
    };
    if (i.purpose === 'reactivation') data.isReactivation = true;
    if (i.status === 'paid') data.chargedOn = i.paid_on ?? extras.writtenOn ?? i.issued_on;
    // R14: a reactivation must be paid by the exception's deadline; anything else inside the window (R5).
    if (kind === 'invoice-pending') {
      data.payBy = i.purpose === 'reactivation' && exception?.reactivationDeadline ? exception.reactivationDeadline : dates.windowCloses;
      data.paymentInstructions = (config.paymentInstructions ?? defaultPaymentInstructions)[partner.locale] ?? defaultPaymentInstructions.en;
    }
  }
  // A competency renewed without its requirements met, or brought back after a lapse, was renewed under the exception.
  if (exception?.isEligible && subscription.offer === 'competency' && (data.isReactivation || !subscription.isRequirementsMet)) {
    data.isUnderException = true;
  }
  return data;
}

/** R7 and R13 as they stand today: what the charge on A will do with the payment on file. */
function foreseeAutoRenewal(subscription: Subscription, partner: Partner, windowCloses: string, gatewayName: string | undefined): AutoRenewalOutlook {
  const check = checkAutoRenewal(subscription, partner);
  if (!check.ok) return { kind: 'fails', reason: check.failure };
  const fee = findFee(subscription);
  const amount = (fee.amountMinor / 100).toFixed(2);
  return subscription.payment?.method === 'bank_transfer' || gatewayName === 'manual'
    ? { kind: 'invoice', amount, currency: fee.currency, payBy: windowCloses }
    : { kind: 'card', amount, currency: fee.currency };
}

/** The recipients (R10) with the role each holds, so the footer tells each reader why they receive it. */
function describeAudience(partner: Partner, recipients: readonly { email: string }[]): NoticeAudience[] {
  const roleByEmail = new Map(partner.contacts.map((contact) => [contact.email.toLowerCase(), contact] as const));
  return recipients.flatMap((recipient) => {
    const contact = roleByEmail.get(recipient.email.toLowerCase());
    return contact ? [{ name: contact.name, role: contact.role }] : [];
  });
}

/**
 * Writes the notice into the outbox (inside the caller's transaction, with the effect it
 * reports). Returns its Message-ID and whether anyone may receive it (R10).
 */
export async function putNoticeInOutbox(
  tx: Executor,
  config: NoticeConfig & Pick<Config, 'mailDomain'>,
  kind: NoticeKind,
  subscription: Subscription,
  partner: Partner,
  at: Date,
  extras: NoticeExtras = {},
): Promise<{ messageId: string; isDeliverable: boolean }> {
  // The invoice as stored now: its payment day is set by the settlement just before.
  const invoice = extras.invoice ? ((await findInvoice(tx, extras.invoice.number)) ?? extras.invoice) : extras.invoice;
  const writtenOn = extras.writtenOn ?? invoice?.paid_on ?? findProgramDay(config.timeZone ?? 'UTC', at);
  const data = buildNoticeData(config, kind, subscription, partner, { ...extras, invoice, writtenOn, messageDate: extras.messageDate ?? at });
  const recipients = selectRecipients(partner.contacts);
  data.audience = describeAudience(partner, recipients);
  const messageId = buildMessageId(data, config.mailDomain);
  const isNew = await addNoticeToOutbox(tx, {
    messageId,
    subscriptionId: subscription.id,
    kind,
    anniversary: subscription.anniversaryOn,
    locale: partner.locale,
    recipients,
    data,
    at,
  });
  if (isNew && recipients.length === 0) {
    await recordEvent(tx, {
      type: 'notice.undeliverable',
      at,
      subscription: subscription.id,
      partner: partner.id,
      anniversary: subscription.anniversaryOn,
      detail: { notice: { kind, messageId }, reason: 'no contact with a purchasing role (R10)' },
    });
  }
  return { messageId, isDeliverable: recipients.length > 0 };
}
