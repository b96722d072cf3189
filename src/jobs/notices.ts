import type { Config } from '../config.js';
import { buildMessageId } from '../mail/headers.js';
import type { NoticeData, NoticeKind, RenewalFailureReason } from '../mail/types.js';
import { findCycleDates } from '../policy/cycle.js';
import { daysBetween } from '../policy/dates.js';
import { findExceptions } from '../policy/exceptions.js';
import { selectRecipients } from '../policy/recipients.js';
import type { Partner, Subscription } from '../policy/types.js';
import type { Store } from '../store/db.js';
import { queueNotice } from '../store/effects.js';
import type { InvoiceRow } from '../store/invoices.js';

/** SPEC §3's Message-ID of the notice `kind` for one cycle. */
export function findMessageId(kind: NoticeKind, subscriptionId: string, anniversary: string, domain: string): string {
  return buildMessageId({ kind, subscriptionId, anniversary }, domain);
}

export interface NoticeExtras {
  newAnniversary?: string;
  invoice?: InvoiceRow | null;
  failureReason?: RenewalFailureReason;
  /** The day the notice is written: a late remind-after counts the days really left. */
  writtenOn?: string;
}

/** The notice's content, fixed from the subscription as it was when the action took effect. */
export function buildNoticeData(
  config: Pick<Config, 'renewUrl' | 'supportUrl'>,
  kind: NoticeKind,
  subscription: Subscription,
  partner: Partner,
  extras: NoticeExtras = {},
): NoticeData {
  const dates = findCycleDates(subscription.anniversaryOn);
  const exception = findExceptions(subscription, partner)[0];
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
    isAutoRenewing: subscription.offer === 'action_pack' && subscription.isAutoRenew && subscription.status === 'active',
    renewUrl: config.renewUrl,
    supportUrl: config.supportUrl,
  };
  if (extras.newAnniversary) data.newAnniversary = extras.newAnniversary;
  if (kind === 'remind-after' && extras.writtenOn) data.daysLeft = Math.max(1, daysBetween(extras.writtenOn, dates.windowCloses));
  if (extras.failureReason) data.failureReason = extras.failureReason;
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
  }
  if (exception?.requirementsWaivedUntil && exception.reactivationDeadline) {
    data.exception = {
      id: 'covid-19-2020',
      isEligible: exception.isEligible,
      requirementsWaivedUntil: exception.requirementsWaivedUntil,
      reactivationDeadline: exception.reactivationDeadline,
    };
  }
  return data;
}

/**
 * Writes the notice into the outbox (inside the caller's transaction, with the effect it
 * reports). Returns its Message-ID and whether anyone may receive it (R10).
 */
export function putNoticeInOutbox(
  store: Store,
  config: Pick<Config, 'renewUrl' | 'supportUrl' | 'mailDomain'>,
  kind: NoticeKind,
  subscription: Subscription,
  partner: Partner,
  at: Date,
  extras: NoticeExtras = {},
): { messageId: string; isDeliverable: boolean } {
  const data = buildNoticeData(config, kind, subscription, partner, extras);
  const recipients = selectRecipients(partner.contacts);
  const messageId = findMessageId(kind, subscription.id, subscription.anniversaryOn, config.mailDomain);
  queueNotice(store, {
    messageId,
    subscriptionId: subscription.id,
    kind,
    anniversary: subscription.anniversaryOn,
    locale: partner.locale,
    recipients,
    data,
    at,
  });
  return { messageId, isDeliverable: recipients.length > 0 };
}
