import { PermanentError } from '../errors.js';
import { escapeHtml, flattenLine, type LocaleFormat } from './format.js';
import { findCycleDates } from '../policy/cycle.js';
import { renewalFailureReasons } from '../policy/outcomes.js';
import { findExceptionName } from '../policy/exceptions.js';
import type { NoticeData } from './types.js';

const isoDatePattern = /^\d{4}-\d{2}-\d{2}$/;

/** Every `{{value}}` a template or string may use. */
export const valueNames = [
  'partnerName',
  'partnerId',
  'subscriptionId',
  'competencyArea',
  'anniversary',
  'windowOpens',
  'windowCloses',
  'lapsesOn',
  'newAnniversary',
  'renewUrl',
  'supportUrl',
  'invoiceNumber',
  'invoiceAmount',
  'invoiceCurrency',
  'invoiceIssuedOn',
  'waivedUntil',
  'reactivationDeadline',
  'exceptionName',
  'daysLeft',
  'writtenOn',
  'feeAmount',
  'payBy',
  'paymentInstructions',
  'chargedOn',
  'nextWindowOpens',
  'nextWindowCloses',
  'billToUrl',
  'recipientRole',
  'audienceList',
] as const;
export type ValueName = (typeof valueNames)[number];

export const dateValueNames: ReadonlySet<ValueName> = new Set<ValueName>([
  'anniversary',
  'windowOpens',
  'windowCloses',
  'lapsesOn',
  'newAnniversary',
  'invoiceIssuedOn',
  'waivedUntil',
  'reactivationDeadline',
  'writtenOn',
  'payBy',
  'chargedOn',
  'nextWindowOpens',
  'nextWindowCloses',
]);

/** Every `{{#flag}}` a template or string may use. */
export const flagNames = [
  'isAutoRenewing',
  'isActionPack',
  'isCompetency',
  'isSilver',
  'isGold',
  'hasException',
  'isExceptionEligible',
  'hasInvoice',
  'isInvoicePaid',
  'isInvoicePending',
  'isInvoiceFailed',
  'isInvoiceVoid',
  'isCreditCard',
  'isBankTransfer',
  'hasNewAnniversary',
  'hasFailureReason',
  'isDeclined',
  'isExpiredCard',
  'isInvalidAddress',
  'isNoPaymentMethod',
  'isGatewayError',
  'isOneDayLeft',
  'willChargeCard',
  'willIssueInvoice',
  'willFail',
  'willFailNoMethod',
  'willFailInvalidAddress',
  'isReactivationOpen',
  'isReactivation',
  'isUnderException',
  'hasChargedOn',
  'isChargedOnAnniversary',
  'hasPayBy',
  'hasOneRecipient',
  'hasAudience',
  'canReactivate',
  'hasFee',
] as const;
export type FlagName = (typeof flagNames)[number];

const knownFailureReasons: ReadonlySet<string> = new Set(renewalFailureReasons);

export const valueIndexes: ReadonlyMap<string, number> = new Map(valueNames.map((name, i) => [name, i]));
export const flagIndexes: ReadonlyMap<string, number> = new Map(flagNames.map((name, i) => [name, i]));

export interface NoticeValues {
  /** By valueNames index, escaped for HTML. */
  html: string[];
  /** By valueNames index, as plain text. */
  text: string[];
  /** By flagNames index. */
  flags: boolean[];
}

/** What one notice fills in: formatted dates and amounts, partner text made safe, the flags its wording depends on. */
export function buildNoticeValues(data: NoticeData, format: LocaleFormat): NoticeValues {
  const { invoice, exception, offer } = data;
  const outlook = data.autoRenewal;
  const audience = data.audience ?? [];
  const next = data.newAnniversary !== undefined && isoDatePattern.test(data.newAnniversary) ? findCycleDates(data.newAnniversary) : undefined;
  const describe = `notice ${data.kind} for subscription ${data.subscriptionId}`;
  const date = (field: string, iso: string | undefined): string => {
    if (iso === undefined) return '';
    const formatted = format.formatDate(iso);
    if (formatted === undefined) throw new PermanentError(`${describe}: ${field} "${iso}" is not a YYYY-MM-DD date`);
    return formatted;
  };
  let invoiceAmount = '';
  if (invoice) {
    const formatted = format.formatAmount(invoice.amount, invoice.currency);
    if (formatted === undefined) {
      throw new PermanentError(
        `${describe}: invoice amount "${invoice.amount}" in "${invoice.currency}" is not a decimal amount in an ISO 4217 currency`,
      );
    }
    invoiceAmount = formatted;
  }

  let outlookAmount = '';
  if (outlook !== undefined && outlook.kind !== 'fails') {
    const formatted = format.formatAmount(outlook.amount, outlook.currency);
    if (formatted === undefined) throw new PermanentError(`${describe}: fee "${outlook.amount}" in "${outlook.currency}" is not a decimal amount in an ISO 4217 currency`);
    outlookAmount = formatted;
  }

  const values: Record<ValueName, string> = {
    partnerName: flattenLine(data.partner.name),
    partnerId: flattenLine(data.partner.id),
    subscriptionId: flattenLine(data.subscriptionId),
    competencyArea: flattenLine(offer.competency?.area ?? ''),
    anniversary: date('anniversary', data.anniversary),
    windowOpens: date('windowOpens', data.windowOpens),
    windowCloses: date('windowCloses', data.windowCloses),
    lapsesOn: date('lapsesOn', data.lapsesOn),
    newAnniversary: date('newAnniversary', data.newAnniversary),
    renewUrl: flattenLine(data.renewUrl),
    supportUrl: flattenLine(data.supportUrl),
    invoiceNumber: flattenLine(invoice?.number ?? ''),
    invoiceAmount,
    invoiceCurrency: flattenLine(invoice?.currency ?? ''),
    invoiceIssuedOn: date('invoice.issuedOn', invoice?.issuedOn),
    waivedUntil: date('exception.requirementsWaivedUntil', exception?.requirementsWaivedUntil),
    reactivationDeadline: date('exception.reactivationDeadline', exception?.reactivationDeadline),
    exceptionName: flattenLine(exception ? (exception.name ?? findExceptionName(exception.id, data.locale)) : ''),
    daysLeft: String(data.daysLeft ?? 7),
    writtenOn: date('writtenOn', data.writtenOn ?? data.anniversary),
    feeAmount: outlookAmount,
    payBy: date('payBy', data.payBy ?? (outlook?.kind === 'invoice' ? outlook.payBy : undefined)),
    // Operators write it over several lines: kept as lines in text, <br> in HTML (below).
    paymentInstructions: (data.paymentInstructions ?? '').replace(/\r\n?/g, '\n').replace(/[\u0000-\u0009\u000b-\u001f\u007f]+/g, ' '),
    chargedOn: date('chargedOn', data.chargedOn),
    nextWindowOpens: date('nextWindowOpens', next?.windowOpens),
    nextWindowCloses: date('nextWindowCloses', next?.windowCloses),
    billToUrl: flattenLine(data.billToUrl ?? data.renewUrl),
    recipientRole: audience.length === 1 ? format.roleLabel(audience[0]!.role) : '',
    audienceList: format.formatList(audience.map((reader) => format.formatReader(flattenLine(reader.name), format.roleLabel(reader.role)))),
  };
  const reason = data.failureReason;
  // What the rules still allow is judged on the day the notice is written; a lapse notice is written on A + 31 at the earliest.
  const writtenOn = data.writtenOn ?? data.lapsesOn;
  const flagValues: Record<FlagName, boolean> = {
    isAutoRenewing: data.isAutoRenewing,
    isActionPack: offer.kind === 'action_pack',
    isCompetency: offer.kind === 'competency',
    isSilver: offer.competency?.level === 'silver',
    isGold: offer.competency?.level === 'gold',
    hasException: exception !== undefined,
    isExceptionEligible: exception?.isEligible === true,
    hasInvoice: invoice !== undefined,
    isInvoicePaid: invoice?.status === 'paid',
    isInvoicePending: invoice?.status === 'pending',
    isInvoiceFailed: invoice?.status === 'failed',
    isInvoiceVoid: invoice?.status === 'void',
    isCreditCard: invoice?.method === 'credit_card',
    isBankTransfer: invoice?.method === 'bank_transfer',
    hasNewAnniversary: data.newAnniversary !== undefined,
    // An unknown reason gets the generic wording rather than an empty sentence.
    hasFailureReason: reason !== undefined && knownFailureReasons.has(reason),
    isDeclined: reason === 'declined',
    isExpiredCard: reason === 'expired-card',
    isInvalidAddress: reason === 'invalid-address',
    isNoPaymentMethod: reason === 'no-payment-method',
    isGatewayError: reason === 'gateway-error',
    isOneDayLeft: data.daysLeft === 1,
    // Notices written before the outlook existed announce the charge, as they always did.
    willChargeCard: data.isAutoRenewing && (outlook === undefined || outlook.kind === 'card'),
    willIssueInvoice: data.isAutoRenewing && outlook?.kind === 'invoice',
    willFail: data.isAutoRenewing && outlook?.kind === 'fails',
    willFailNoMethod: data.isAutoRenewing && outlook?.kind === 'fails' && outlook.reason === 'no-payment-method',
    willFailInvalidAddress: data.isAutoRenewing && outlook?.kind === 'fails' && outlook.reason === 'invalid-address',
    isReactivationOpen: exception !== undefined && writtenOn <= exception.reactivationDeadline,
    isReactivation: data.isReactivation === true,
    isUnderException: data.isUnderException === true,
    hasChargedOn: data.chargedOn !== undefined,
    isChargedOnAnniversary: data.chargedOn === data.anniversary,
    hasPayBy: data.payBy !== undefined || outlook?.kind === 'invoice',
    hasOneRecipient: audience.length === 1,
    hasAudience: audience.length > 0,
    canReactivate: exception?.isEligible === true && writtenOn <= exception.reactivationDeadline,
    hasFee: outlookAmount !== '',
  };

  const text = valueNames.map((name) => values[name]);
  const html = text.map(escapeHtml);
  html[valueIndexes.get('paymentInstructions')!] = escapeHtml(values.paymentInstructions).replace(/\n/g, '<br>');
  return {
    text,
    html,
    flags: flagNames.map((name) => flagValues[name]),
  };
}
