import { findFee } from '../billing/prices.js';
import { defaultBillToUrl, defaultPaymentInstructions, type Config } from '../config.js';
import { findCycleDates } from '../policy/cycle.js';
import { daysBetween } from '../policy/dates.js';
import { exceptionRules, findExceptionName, findExceptions, type AppliedException, type ExceptionRule } from '../policy/exceptions.js';
import { checkAutoRenewal } from '../policy/renewal.js';
import type { Partner, Subscription } from '../policy/types.js';
import type { AutoRenewalOutlook, Locale, NoticeData, NoticeException, NoticeKind, RenewalFailureReason } from './types.js';

/** What a notice reads of an invoice: the store's row (snake_case) fits as it is. */
export interface NoticeInvoiceSource {
  number: string;
  purpose: 'auto-renew' | 'renewal' | 'reactivation';
  amount_minor: number;
  currency: string;
  method: string;
  status: 'paid' | 'pending' | 'failed' | 'void';
  issued_on: string;
  paid_on: string | null;
}

export interface NoticeExtras {
  newAnniversary?: string;
  invoice?: NoticeInvoiceSource | null;
  failureReason?: RenewalFailureReason;
  /** The program day the notice is written: what it offers is decided as of this day (a late remind-after counts the days really left). */
  writtenOn?: string;
  /** The Date header (see findNoticeClock). @defaultValue the write time */
  messageDate?: Date;
  /** The payment gateway in use: under `manual` every charge, a card's included, becomes a pending invoice. */
  gatewayName?: string;
  /** The exception table (R14). @defaultValue exceptionRules, from src/policy/exceptions.ts */
  exceptionRules?: readonly ExceptionRule[];
}

/** The config a notice reads; the newer settings fall back to their defaults for callers that hold only the links. */
export type NoticeConfig = Pick<Config, 'renewUrl' | 'supportUrl'> & Partial<Pick<Config, 'billToUrl' | 'paymentInstructions' | 'timeZone'>>;

/**
 * The notice's exception block from an exception applied to the cycle (findExceptions), in the
 * notice's locale; undefined when there is none or it offers no waiver and no reactivation (the
 * block states both). Everything comes from the exception's definition, nothing from its id.
 */
export function buildNoticeException(
  applied: AppliedException | undefined,
  locale: Locale,
  rules: readonly ExceptionRule[] = exceptionRules,
): NoticeException | undefined {
  if (!applied?.requirementsWaivedUntil || !applied.reactivationDeadline) return undefined;
  return {
    id: applied.id,
    name: findExceptionName(applied.id, locale, rules),
    isEligible: applied.isEligible,
    requirementsWaivedUntil: applied.requirementsWaivedUntil,
    reactivationDeadline: applied.reactivationDeadline,
  };
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
  const rules = extras.exceptionRules ?? exceptionRules;
  const exception = findExceptions(subscription, partner, rules)[0];
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
  const block = buildNoticeException(exception, partner.locale, rules);
  if (block) data.exception = block;
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
    // R7: a renewal waiting for payment can't be renewed by hand; its reminder after asks for the payment by A + 30.
    if (kind === 'remind-after' && i.status === 'pending') data.payBy = dates.windowCloses;
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
