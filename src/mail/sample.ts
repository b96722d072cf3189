import { defaultPaymentInstructions } from '../config.js';
import { findExceptions } from '../policy/exceptions.js';
import { buildNoticeException } from './notice-data.js';
import type { Locale, NoticeData, NoticeKind } from './types.js';

/** One situation a notice kind words differently, for previews and tests. */
export interface SampleVariant {
  name: string;
  /** What makes it different, for `lifecycle preview --list`. */
  describes: string;
  build(locale: Locale): NoticeData;
}

/** Marked as sample data everywhere it shows, so a preview is never mistaken for a real notice. */
const samplePartner = { id: 'SAMPLE-P-1', name: 'Sample Partner Ltd (sample data)' };

function actionPack(kind: NoticeKind, locale: Locale): NoticeData {
  return {
    kind,
    locale,
    subscriptionId: 'SAMPLE-1',
    partner: samplePartner,
    offer: { kind: 'action_pack' },
    anniversary: '2019-09-01',
    windowOpens: '2019-09-02',
    windowCloses: '2019-10-01',
    lapsesOn: '2019-10-02',
    isAutoRenewing: false,
    renewUrl: 'https://partner.example/membership/offers?subscription=SAMPLE-1',
    supportUrl: 'https://partner.example/support?topic=membership&partner=SAMPLE-P-1',
    billToUrl: 'https://partner.example/profile/bill-to',
    writtenOn: '2019-08-17',
    audience: [
      { name: 'Sample Admin (sample data)', role: 'global_admin' },
      { name: 'Sample Agent (sample data)', role: 'sales_agent' },
    ],
  };
}

/** A competency whose anniversary falls in the COVID-19 exception's range (R14). */
function competency(kind: NoticeKind, locale: Locale, isEligible = true): NoticeData {
  return {
    ...actionPack(kind, locale),
    subscriptionId: 'SAMPLE-2',
    offer: { kind: 'competency', competency: { area: 'Cloud Platform', level: 'gold' } },
    anniversary: '2020-03-10',
    windowOpens: '2020-03-11',
    windowCloses: '2020-04-09',
    lapsesOn: '2020-04-10',
    renewUrl: 'https://partner.example/membership/offers?subscription=SAMPLE-2',
    writtenOn: '2020-02-24',
    audience: [{ name: 'Sample Admin (sample data)', role: 'mpn_partner_admin' }],
    exception: buildNoticeException(findExceptions({ offer: 'competency', anniversaryOn: '2020-03-10' }, { isMigratedToPartnerCenter: isEligible })[0], locale),
  };
}

function invoice(number: string, amount: string, status: 'paid' | 'pending', method: 'credit_card' | 'bank_transfer', issuedOn: string) {
  return { number, amount, currency: 'USD', method, status, issuedOn };
}

const instructions = (locale: Locale): string => `${defaultPaymentInstructions[locale]}\nSAMPLE BANK · account 000-000000-0 (sample data)`;

/** A competency lapsing on `lapsesOn` (its anniversary 31 days before), written that day. */
function lapsedCompetency(locale: Locale, anniversary: string, windowCloses: string, lapsesOn: string, isEligible: boolean): NoticeData {
  return {
    ...competency('lapsed', locale, isEligible),
    anniversary,
    windowOpens: '',
    windowCloses,
    lapsesOn,
    writtenOn: lapsesOn,
  };
}

export const sampleVariants: Readonly<Record<NoticeKind, readonly SampleVariant[]>> = {
  'remind-before': [
    { name: 'card', describes: 'auto-renewing Action Pack paid by card: the amount charged on A', build: (l) => ({ ...actionPack('remind-before', l), isAutoRenewing: true, autoRenewal: { kind: 'card', amount: '475.00', currency: 'USD' } }) },
    { name: 'bank-transfer', describes: 'auto-renewing Action Pack paid by bank transfer (or any method under the manual gateway): an invoice on A, to pay by A + 30', build: (l) => ({ ...actionPack('remind-before', l), isAutoRenewing: true, autoRenewal: { kind: 'invoice', amount: '475.00', currency: 'USD', payBy: '2019-10-01' } }) },
    { name: 'no-payment-method', describes: 'auto-renewing Action Pack with no payment on file: the renewal will fail', build: (l) => ({ ...actionPack('remind-before', l), isAutoRenewing: true, autoRenewal: { kind: 'fails', reason: 'no-payment-method' } }) },
    { name: 'invalid-bill-to', describes: 'auto-renewing Action Pack with an invalid bill-to address: the renewal will fail', build: (l) => ({ ...actionPack('remind-before', l), isAutoRenewing: true, autoRenewal: { kind: 'fails', reason: 'invalid-address' } }) },
    { name: 'manual', describes: 'Action Pack without auto-renew: renew inside the window', build: (l) => actionPack('remind-before', l) },
    { name: 'exception', describes: 'competency under the COVID-19 exception (partner moved)', build: (l) => competency('remind-before', l) },
    { name: 'exception-not-moved', describes: 'competency in the exception range, partner not moved yet', build: (l) => competency('remind-before', l, false) },
  ],
  'remind-after': [
    { name: 'exception', describes: 'competency under the COVID-19 exception, 7 days left', build: (l) => ({ ...competency('remind-after', l), daysLeft: 7, writtenOn: '2020-04-02' }) },
    { name: 'one-day-left', describes: 'Action Pack caught up late: 1 day left', build: (l) => ({ ...actionPack('remind-after', l), daysLeft: 1, writtenOn: '2019-09-30' }) },
    { name: 'invoice-pending', describes: 'auto-renew by bank transfer still waiting for payment: pay the invoice by A + 30', build: (l) => ({ ...actionPack('remind-after', l), isAutoRenewing: true, daysLeft: 7, writtenOn: '2019-09-24', payBy: '2019-10-01', invoice: invoice('SAMPLE-INV-4', '475.00', 'pending', 'bank_transfer', '2019-09-01') }) },
  ],
  'auto-renew-receipt': [
    { name: 'on-anniversary', describes: 'card charged on A', build: (l) => ({ ...actionPack('auto-renew-receipt', l), writtenOn: '2019-09-01', chargedOn: '2019-09-01', newAnniversary: '2020-09-01', invoice: invoice('SAMPLE-INV-1', '475.00', 'paid', 'credit_card', '2019-09-01') }) },
    { name: 'catch-up', describes: 'card charged late, on a catch-up day after A', build: (l) => ({ ...actionPack('auto-renew-receipt', l), writtenOn: '2019-09-06', chargedOn: '2019-09-06', newAnniversary: '2020-09-01', invoice: invoice('SAMPLE-INV-2', '475.00', 'paid', 'credit_card', '2019-09-06') }) },
  ],
  'auto-renew-failed': [
    { name: 'invalid-bill-to', describes: 'invalid bill-to address: links to BILL_TO_URL', build: (l) => ({ ...actionPack('auto-renew-failed', l), isAutoRenewing: true, writtenOn: '2019-09-01', failureReason: 'invalid-address' }) },
    { name: 'declined', describes: 'card declined: renew now', build: (l) => ({ ...actionPack('auto-renew-failed', l), isAutoRenewing: true, writtenOn: '2019-09-01', failureReason: 'declined', invoice: { ...invoice('SAMPLE-INV-3', '475.00', 'paid', 'credit_card', '2019-09-01'), status: 'failed' } }) },
    { name: 'no-payment-method', describes: 'no payment method on file', build: (l) => ({ ...actionPack('auto-renew-failed', l), isAutoRenewing: true, writtenOn: '2019-09-01', failureReason: 'no-payment-method' }) },
  ],
  'invoice-pending': [
    { name: 'auto-renew-bank-transfer', describes: 'auto-renew by bank transfer: pay by A + 30', build: (l) => ({ ...actionPack('invoice-pending', l), isAutoRenewing: true, writtenOn: '2019-09-01', newAnniversary: '2020-09-01', payBy: '2019-10-01', paymentInstructions: instructions(l), invoice: invoice('SAMPLE-INV-4', '475.00', 'pending', 'bank_transfer', '2019-09-01') }) },
    { name: 'operator-renewal', describes: 'operator renewal under the manual gateway: pay by A + 30', build: (l) => ({ ...competency('invoice-pending', l), writtenOn: '2020-03-20', newAnniversary: '2021-03-10', payBy: '2020-04-09', paymentInstructions: instructions(l), isUnderException: true, invoice: invoice('SAMPLE-INV-5', '4730.00', 'pending', 'bank_transfer', '2020-03-20') }) },
    { name: 'reactivation', describes: 'COVID-19 reactivation: pay by the exception deadline', build: (l) => ({ ...lapsedCompetency(l, '2020-03-10', '2020-04-09', '2020-04-10', true), kind: 'invoice-pending', writtenOn: '2020-05-04', newAnniversary: '2021-03-10', payBy: '2020-06-30', isReactivation: true, isUnderException: true, paymentInstructions: instructions(l), invoice: invoice('SAMPLE-INV-6', '4730.00', 'pending', 'bank_transfer', '2020-05-04') }) },
  ],
  lapsed: [
    { name: 'reactivation-open', describes: 'competency lapsed on 2020-04-10: can still be reactivated until 2020-06-30', build: (l) => lapsedCompetency(l, '2020-03-10', '2020-04-09', '2020-04-10', true) },
    { name: 'reactivation-closed', describes: 'competency lapsed on 2020-07-16: the exception deadline has passed, no reactivation', build: (l) => lapsedCompetency(l, '2020-06-15', '2020-07-15', '2020-07-16', true) },
    { name: 'not-moved', describes: 'competency lapsed before the deadline, partner not moved yet', build: (l) => lapsedCompetency(l, '2020-03-10', '2020-04-09', '2020-04-10', false) },
    { name: 'action-pack', describes: 'Action Pack: buy it again', build: (l) => ({ ...actionPack('lapsed', l), writtenOn: '2019-10-02' }) },
  ],
  renewed: [
    { name: 'renewal', describes: 'operator renewal, paid', build: (l) => ({ ...actionPack('renewed', l), writtenOn: '2019-09-20', chargedOn: '2019-09-20', newAnniversary: '2020-08-31', invoice: invoice('SAMPLE-INV-7', '475.00', 'paid', 'bank_transfer', '2019-09-12') }) },
    { name: 'exception', describes: 'competency renewed under the COVID-19 exception', build: (l) => ({ ...competency('renewed', l), writtenOn: '2020-03-20', chargedOn: '2020-03-20', newAnniversary: '2021-03-10', isUnderException: true, invoice: invoice('SAMPLE-INV-8', '4730.00', 'paid', 'bank_transfer', '2020-03-20') }) },
    { name: 'reactivation', describes: 'competency reactivated under the COVID-19 exception', build: (l) => ({ ...lapsedCompetency(l, '2020-03-10', '2020-04-09', '2020-04-10', true), kind: 'renewed', writtenOn: '2020-05-10', chargedOn: '2020-05-10', newAnniversary: '2021-03-10', isReactivation: true, isUnderException: true, invoice: invoice('SAMPLE-INV-9', '4730.00', 'paid', 'bank_transfer', '2020-05-04') }) },
  ],
};

/** The window of a sample with only A set. */
function fillWindow(data: NoticeData): NoticeData {
  if (data.windowOpens) return data;
  const next = new Date(`${data.anniversary}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  return { ...data, windowOpens: next.toISOString().slice(0, 10) };
}

/** Sample data for one variant of a notice (the first when none is named); throws naming the variants for an unknown one. */
export function buildSampleNotice(kind: NoticeKind, locale: Locale, variant?: string): NoticeData {
  const variants = sampleVariants[kind];
  const chosen = variant === undefined ? variants[0] : variants.find((candidate) => candidate.name === variant);
  if (chosen === undefined) {
    throw new Error(`notice ${kind} has no sample variant "${variant}": expected one of ${variants.map((v) => v.name).join(', ')}`);
  }
  return fillWindow(chosen.build(locale));
}
