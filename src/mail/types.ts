/** The contract between the job processors and the mail layer. */
import type { IsoDate } from '../policy/dates.js';
import type { RenewalFailureReason } from '../policy/outcomes.js';
import type { Locale } from '../policy/types.js';

export const noticeKinds = [
  'remind-before',
  'remind-after',
  'auto-renew-receipt',
  'auto-renew-failed',
  'invoice-pending',
  'lapsed',
  'renewed',
] as const;
export type NoticeKind = (typeof noticeKinds)[number];

// One list of locales and one date type for the rules and the notices.
export { locales, type Locale } from '../policy/types.js';
export type { IsoDate } from '../policy/dates.js';

export interface NoticeInvoice {
  number: string;
  /** Decimal string in major units, e.g. "475.00". */
  amount: string;
  currency: string; // ISO 4217, e.g. "USD"
  method: 'credit_card' | 'bank_transfer';
  status: 'paid' | 'pending' | 'failed' | 'void';
  issuedOn: IsoDate;
}

/** Why an automatic renewal failed (R7, R13): defined with the action outcomes it names. */
export type { RenewalFailureReason };

/** An R14 exception as a notice states it: built from its definition in src/policy/exceptions.ts (buildNoticeException). */
export interface NoticeException {
  id: string;
  /** What the notice calls it, in its locale. Absent in notices written before it existed: looked up by id. */
  name?: string;
  /** The partner moved to Partner Center: the waiver applies. False: the notice says moving makes it eligible. */
  isEligible: boolean;
  /** Requirements are treated as met until this date (the next anniversary). */
  requirementsWaivedUntil: IsoDate;
  /** A lapsed competency can be reactivated by paying the fee until this date, inclusive. */
  reactivationDeadline: IsoDate;
}

/** What a `remind-before` of an auto-renewing Action Pack announces for A, from the payment on file (R7, R13). */
export type AutoRenewalOutlook =
  | { kind: 'card'; amount: string; currency: string }
  | { kind: 'invoice'; amount: string; currency: string; payBy: IsoDate }
  | { kind: 'fails'; reason: 'no-payment-method' | 'invalid-address' };

/** A contact the notice goes to, with the role that makes them a recipient (R10). */
export interface NoticeAudience {
  name: string;
  role: string;
}

export interface NoticeData {
  kind: NoticeKind;
  locale: Locale;
  subscriptionId: string;
  partner: { id: string; name: string };
  offer: {
    kind: 'action_pack' | 'competency';
    /** Competency only. */
    competency?: { area: string; level: 'silver' | 'gold' };
  };
  /** The cycle's anniversary A (the expiry date). */
  anniversary: IsoDate;
  windowOpens: IsoDate; // A + 1
  windowCloses: IsoDate; // A + 30
  lapsesOn: IsoDate; // A + 31
  /** remind-before of an Action Pack with auto-renew on: the text announces the automatic charge on A. */
  isAutoRenewing: boolean;
  /** remind-after: days left in the window on the day it was written (7 on A + 23, fewer when caught up late). */
  daysLeft?: number;
  /** Receipts and `renewed`: the next anniversary. */
  newAnniversary?: IsoDate;
  invoice?: NoticeInvoice;
  failureReason?: RenewalFailureReason;
  exception?: NoticeException;
  renewUrl: string;
  supportUrl: string;
  /** The program day the notice was written (the job's today): what it offers is decided as of this day. */
  writtenOn?: IsoDate;
  /** The Date header, an ISO instant: the write time, on the simulated day in `simulate`. Absent: the send time. */
  messageDate?: string;
  /** remind-before of an auto-renewing Action Pack: what will happen on A. */
  autoRenewal?: AutoRenewalOutlook;
  /** Receipts: the day the charge was made (a catch-up charge is not dated A). */
  chargedOn?: IsoDate;
  /** invoice-pending: the last day the invoice can be paid (A + 30, or the exception's deadline for a reactivation). */
  payBy?: IsoDate;
  /** invoice-pending: how to pay, in the notice's locale (PAYMENT_INSTRUCTIONS); may hold line breaks. */
  paymentInstructions?: string;
  /** The invoice renews a lapsed subscription under an exception (R14), not the current cycle. */
  isReactivation?: boolean;
  /** Receipts: the renewal was granted under the exception (its requirements were waived). */
  isUnderException?: boolean;
  /** Where the partner fixes the bill-to address (BILL_TO_URL). */
  billToUrl?: string;
  /** The recipients and their roles, for the footer (each reader sees their own role). */
  audience?: NoticeAudience[];
}

export interface Recipient {
  name: string;
  email: string;
}

export interface RenderedNotice {
  subject: string;
  html: string;
  text: string;
}
