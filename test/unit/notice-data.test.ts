import { beforeAll, describe, expect, it } from 'vitest';
import { buildNoticeData, buildNoticeException } from '../../src/mail/notice-data.js';
import { covid19Exception, findExceptionName, findExceptions, type ExceptionRule } from '../../src/policy/exceptions.js';
import { createNoticeRenderer, type NoticeRenderer } from '../../src/mail/render.js';
import { buildCompetency, buildPartner, buildSubscription } from './builders.js';

const links = { renewUrl: 'https://example.com/renew', supportUrl: 'https://example.com/support' };
let renderer: NoticeRenderer;

beforeAll(async () => {
  renderer = await createNoticeRenderer();
});

describe('buildNoticeData', () => {
  it.each([
    ['2019-09-24', 7, '7 days left'], // A + 23: the seed's "7 days left"
    ['2019-09-28', 3, '3 days left'], // caught up late: the days really left
    ['2019-09-30', 1, '1 day left'],
    ['2019-10-01', 1, '1 day left'], // the last day of the window
  ])('remind-after written on %s says %i days left', (writtenOn, daysLeft, subject) => {
    const data = buildNoticeData(links, 'remind-after', buildSubscription(), buildPartner({ locale: 'en' }), { writtenOn });
    expect(data.daysLeft).toBe(daysLeft);
    expect(renderer.render(data).subject).toContain(subject);
  });

  it('gives the cycle dates of the anniversary (seed 000: window 2019-09-02 … 2019-10-01)', () => {
    const data = buildNoticeData(links, 'remind-before', buildSubscription({ isAutoRenew: true }), buildPartner());
    expect(data).toMatchObject({ anniversary: '2019-09-01', windowOpens: '2019-09-02', windowCloses: '2019-10-01', lapsesOn: '2019-10-02', isAutoRenewing: true });
  });

  it('carries the covid-19-2020 exception, and says when the partner has not moved yet', () => {
    const eligible = buildNoticeData(links, 'remind-before', buildCompetency(), buildPartner({ isMigratedToPartnerCenter: true }));
    const notMoved = buildNoticeData(links, 'remind-before', buildCompetency(), buildPartner({ isMigratedToPartnerCenter: false }));
    expect(eligible.exception).toMatchObject({ id: 'covid-19-2020', isEligible: true, reactivationDeadline: '2020-06-30' });
    expect(notMoved.exception).toMatchObject({ isEligible: false });
    expect(buildNoticeData(links, 'remind-before', buildSubscription(), buildPartner()).exception).toBeUndefined();
  });

  it('names the exception in the notice\'s locale, from its definition', () => {
    expect(buildNoticeData(links, 'remind-before', buildCompetency(), buildPartner({ locale: 'en' })).exception?.name).toBe('COVID-19 exception');
    expect(buildNoticeData(links, 'remind-before', buildCompetency(), buildPartner({ locale: 'zh-TW' })).exception?.name).toBe(covid19Exception.name['zh-TW']);
  });
});

/** A second exception, only as data: nothing outside the table knows it. */
const floodException: ExceptionRule = {
  id: 'flood-2031',
  name: { en: 'Flood relief exception', 'zh-TW': '水災紓困例外措施' },
  offer: 'action_pack',
  anniversaryFrom: '2031-02-01',
  anniversaryTo: '2031-03-31',
  requiresMigration: false,
  waivesRequirements: true,
  reactivationUntil: '2031-05-31',
};
const rules = [covid19Exception, floodException];

describe('a second exception needs only its entry in the table (R14)', () => {
  const pack = buildSubscription({ anniversaryOn: '2031-03-01', isAutoRenew: false });

  it('findExceptions applies it to its own offer and range only', () => {
    expect(findExceptions(pack, { isMigratedToPartnerCenter: false }, rules)).toEqual([
      { id: 'flood-2031', isEligible: true, requirementsWaivedUntil: '2032-02-29', reactivationDeadline: '2031-05-31' },
    ]);
    expect(findExceptions({ ...pack, anniversaryOn: '2031-04-01' }, { isMigratedToPartnerCenter: true }, rules)).toEqual([]);
    expect(findExceptions(buildCompetency({ anniversaryOn: '2031-03-01' }), { isMigratedToPartnerCenter: true }, rules)).toEqual([]);
  });

  it('the notice carries its id, name and dates', () => {
    const data = buildNoticeData(links, 'lapsed', { ...pack, status: 'lapsed' }, buildPartner({ locale: 'en' }), { writtenOn: '2031-04-01', exceptionRules: rules });
    expect(data.exception).toEqual({ id: 'flood-2031', name: 'Flood relief exception', isEligible: true, requirementsWaivedUntil: '2032-02-29', reactivationDeadline: '2031-05-31' });
  });

  it.each(['en', 'zh-TW'] as const)('the rendered notice names it, and never COVID-19 (%s)', (locale) => {
    const data = buildNoticeData(links, 'remind-after', buildCompetency({ anniversaryOn: '2031-03-01', offer: 'action_pack', competency: null }), buildPartner({ locale }), {
      writtenOn: '2031-03-24',
      exceptionRules: rules,
    });
    const rendered = renderer.render(data);
    expect(rendered.text).toContain(floodException.name[locale]);
    expect(rendered.html).toContain(floodException.name[locale]);
    expect(rendered.text).not.toContain('COVID');
    expect(rendered.html).not.toContain('COVID');
  });

  it('buildNoticeException: none without an applied exception, or one that offers no waiver or no reactivation', () => {
    expect(buildNoticeException(undefined, 'en', rules)).toBeUndefined();
    const [applied] = findExceptions(pack, { isMigratedToPartnerCenter: true }, rules);
    expect(buildNoticeException({ ...applied!, reactivationDeadline: null }, 'en', rules)).toBeUndefined();
    expect(buildNoticeException({ ...applied!, requirementsWaivedUntil: null }, 'en', rules)).toBeUndefined();
    expect(buildNoticeException(applied, 'zh-TW', rules)?.name).toBe('水災紓困例外措施');
  });

  it('a notice written before names were stored is named by its id; an id no longer in the table by the id itself', () => {
    expect(findExceptionName('flood-2031', 'en', rules)).toBe('Flood relief exception');
    expect(findExceptionName('gone-1999', 'en', rules)).toBe('gone-1999');
    const data = buildNoticeData(links, 'remind-after', buildCompetency(), buildPartner({ locale: 'en' }), { writtenOn: '2020-04-02' });
    const { name: _name, ...withoutName } = data.exception!;
    expect(renderer.render({ ...data, exception: withoutName }).text).toBe(renderer.render(data).text);
  });
});


// R7: a bank-transfer (or manual) renewal waiting for payment still gets the reminder after (R4),
// but a manual renewal is refused while that invoice is pending: the reminder must ask for the payment.
describe('remind-after of a renewal waiting for payment', () => {
  const pending = {
    number: 'INV-7', purpose: 'auto-renew' as const, amount_minor: 47500, currency: 'USD', method: 'bank_transfer',
    status: 'pending' as const, issued_on: '2019-09-01', paid_on: null,
  };
  const subscription = buildSubscription({ isAutoRenew: true, pendingInvoice: 'INV-7', payment: { method: 'bank_transfer', contactName: 'Mei', phone: '1', email: 'mei@contoso.example' } });

  it.each([
    ['en', 'INV-7', 'October 1, 2019', 'Renew now'],
    ['zh-TW', 'INV-7', '2019年10月1日', '立即續約'],
  ] as const)('names the invoice and its last day to pay, not "renew now" (%s)', (locale, number, payBy, renewNow) => {
    const data = buildNoticeData(links, 'remind-after', subscription, buildPartner({ locale }), { writtenOn: '2019-09-24', invoice: pending });
    expect(data.payBy).toBe('2019-10-01');
    const rendered = renderer.render(data);
    for (const part of [rendered.text, rendered.html]) {
      expect(part).toContain(number);
      expect(part).toContain(payBy);
      expect(part).not.toContain(renewNow);
    }
  });
});
