import type { Config } from '../config.js';
import { buildMessageId } from '../mail/headers.js';
import { buildNoticeData, type NoticeConfig, type NoticeExtras } from '../mail/notice-data.js';
import type { NoticeAudience, NoticeKind } from '../mail/types.js';
import { daysBetween } from '../policy/dates.js';
import { selectRecipients } from '../policy/recipients.js';
import type { Partner, Subscription } from '../policy/types.js';
import { recordEvent } from '../store/events.js';
import type { Executor } from '../store/executor.js';
import { findInvoice, type InvoiceRow } from '../store/invoices.js';
import { addNoticeToOutbox } from '../store/notices.js';
import type { JobDeps } from './deps.js';

/** SPEC §3's Message-ID of the notice `kind` for one cycle. */
export function buildNoticeMessageId(kind: NoticeKind, subscriptionId: string, anniversary: string, domain: string): string {
  return buildMessageId({ kind, subscriptionId, anniversary }, domain);
}

export { buildNoticeData, type NoticeConfig, type NoticeExtras };

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
