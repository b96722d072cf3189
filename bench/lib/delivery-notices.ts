import type { Config } from '../../src/config.js';
import { putNoticeInOutbox } from '../../src/jobs/notices.js';
import type { NoticeKind } from '../../src/mail/types.js';
import { addDays } from '../../src/policy/dates.js';
import { selectRecipients } from '../../src/policy/recipients.js';
import type { Executor } from '../../src/store/executor.js';
import { findPartner, findSubscription } from '../../src/store/queries.js';

/** The notice kinds the delivery benches write, in turn: reminders, a lapse, a failed and a paid renewal. */
export const deliveryKinds: readonly NoticeKind[] = ['remind-before', 'remind-after', 'lapsed', 'auto-renew-failed', 'renewed'];

/**
 * Writes the next notice of the rotation for subscription `id` into the outbox (through `tx`) and
 * returns its Message-ID: null when the partner has no recipient, undefined for an unknown id
 * (nothing written either way). `written`, how many were written before, picks the kind.
 */
export async function putDeliveryNotice(
  tx: Executor,
  config: Config,
  id: string,
  written: number,
  day: string,
  at: Date,
): Promise<string | null | undefined> {
  const subscription = await findSubscription(tx, id);
  if (!subscription) return undefined;
  const partner = (await findPartner(tx, subscription.partnerId))!;
  if (selectRecipients(partner.contacts).length === 0) return null;
  const kind = deliveryKinds[written % deliveryKinds.length]!;
  const extras =
    kind === 'remind-after' ? { writtenOn: day }
    : kind === 'auto-renew-failed' ? { failureReason: 'declined' as const }
    : kind === 'renewed' ? { newAnniversary: addDays(subscription.anniversaryOn, 365) }
    : {};
  return (await putNoticeInOutbox(tx, config, kind, subscription, partner, at, extras)).messageId;
}
