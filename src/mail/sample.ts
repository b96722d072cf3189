import type { Locale, NoticeData, NoticeKind } from './types.js';

/**
 * Realistic data for previews and screenshots: the partner name needs escaping, receipts carry an
 * invoice, and the competency samples carry the COVID-19 exception (R14).
 */
export function buildSampleNotice(kind: NoticeKind, locale: Locale): NoticeData {
  const actionPack: NoticeData = {
    kind,
    locale,
    subscriptionId: 'S-1',
    partner: { id: 'P-1001', name: 'Contoso <Ltd> & Co' },
    offer: { kind: 'action_pack' },
    anniversary: '2019-09-01',
    windowOpens: '2019-09-02',
    windowCloses: '2019-10-01',
    lapsesOn: '2019-10-02',
    isAutoRenewing: false,
    renewUrl: 'https://partner.example/membership/offers?subscription=S-1',
    supportUrl: 'https://partner.example/support?topic=membership&partner=P-1001',
  };
  const competency: NoticeData = {
    ...actionPack,
    subscriptionId: 'S-2',
    offer: { kind: 'competency', competency: { area: 'Cloud Platform', level: 'gold' } },
    anniversary: '2020-03-10',
    windowOpens: '2020-03-11',
    windowCloses: '2020-04-09',
    lapsesOn: '2020-04-10',
    renewUrl: 'https://partner.example/membership/offers?subscription=S-2',
    exception: {
      id: 'covid-19-2020',
      isEligible: true,
      requirementsWaivedUntil: '2021-03-10',
      reactivationDeadline: '2020-06-30',
    },
  };
  switch (kind) {
    case 'remind-before':
      return { ...actionPack, isAutoRenewing: true };
    case 'remind-after':
      return competency;
    case 'auto-renew-receipt':
      return {
        ...actionPack,
        newAnniversary: '2020-09-01',
        invoice: {
          number: 'INV-2019-000123',
          amount: '475.00',
          currency: 'USD',
          method: 'credit_card',
          status: 'paid',
          issuedOn: '2019-09-01',
        },
      };
    case 'auto-renew-failed':
      return { ...actionPack, failureReason: 'invalid-address' };
    case 'lapsed':
      return competency;
    case 'renewed':
      return {
        ...competency,
        exception: undefined,
        newAnniversary: '2021-03-10',
        invoice: {
          number: 'INV-2020-000456',
          amount: '1670.00',
          currency: 'USD',
          method: 'bank_transfer',
          status: 'paid',
          issuedOn: '2020-03-20',
        },
      };
  }
}
