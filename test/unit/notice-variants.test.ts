import { beforeAll, describe, expect, it } from 'vitest';
import { defaultPaymentInstructions } from '../../src/config.js';
import { findNoticeClock } from '../../src/jobs/notices.js';
import { buildNoticeData } from '../../src/mail/notice-data.js';
import { createNoticeRenderer, type NoticeRenderer } from '../../src/mail/render.js';
import { buildSampleNotice, sampleVariants } from '../../src/mail/sample.js';
import { locales, noticeKinds, type Locale, type NoticeData, type RenderedNotice } from '../../src/mail/types.js';
import { todayIn } from '../../src/policy/dates.js';
import type { InvoiceRow } from '../../src/store/invoices.js';
import { buildCompetency, buildPartner, buildSubscription } from './builders.js';

const config = {
  renewUrl: 'https://example.com/renew',
  supportUrl: 'https://example.com/support',
  billToUrl: 'https://example.com/bill-to',
  paymentInstructions: { en: 'Wire to ACME BANK 123, reference = invoice number.', 'zh-TW': '請匯款至 ACME 銀行 123，附言註明發票號碼。' },
};

const monthNames = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** Written out by hand rather than through Intl, so the test does not share the code it checks. */
function day(iso: string, locale: Locale): string {
  const [year, month, date] = iso.split('-').map(Number) as [number, number, number];
  return locale === 'en' ? `${monthNames[month - 1]} ${date}, ${year}` : `${year}年${month}月${date}日`;
}

/** Subject, visible HTML text and the text part: a fact must be in all three places a reader may look. */
function readAll(notice: RenderedNotice): string[] {
  const visible = notice.html.replace(/<[^>]*>/g, '').replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return [notice.subject, visible, notice.text];
}

function expectEverywhere(notice: RenderedNotice, phrase: string, parts = readAll(notice).slice(1)): void {
  for (const part of parts) expect(part).toContain(phrase);
}

function expectNowhere(notice: RenderedNotice, phrase: string): void {
  for (const part of [notice.subject, notice.html, notice.text]) expect(part).not.toContain(phrase);
}

function invoiceRow(overrides: Partial<InvoiceRow>): InvoiceRow {
  return {
    seq: 1,
    number: 'INV-2019-000001',
    subscription_id: 'S-1',
    anniversary_on: '2019-09-01',
    purpose: 'auto-renew',
    offer: 'action_pack',
    amount_minor: 47_500,
    currency: 'USD',
    method: 'bank_transfer',
    status: 'pending',
    renews_to: '2020-09-01',
    issued_on: '2019-09-01',
    paid_on: null,
    failure_reason: null,
    gateway_ref: null,
    ...overrides,
  };
}

const words = {
  en: { reactivateNow: 'Reactivate now', reactivateUntil: 'reactivate the competency by paying its fee until', noAction: "don't need to do anything", renewNow: 'Renew now', willFail: 'will fail' },
  'zh-TW': { reactivateNow: '立即重新啟用', reactivateUntil: '前支付費用以重新啟用專長認證', noAction: '不需要採取任何動作', renewNow: '立即續約', willFail: '失敗' },
} as const;

let renderer: NoticeRenderer;

beforeAll(async () => {
  renderer = await createNoticeRenderer();
});

const everyVariant = noticeKinds.flatMap((kind) =>
  sampleVariants[kind].flatMap((variant) => locales.map((locale) => ({ kind, variant: variant.name, locale }))),
);

describe.each(everyVariant)('$kind / $variant in $locale', ({ kind, variant, locale }) => {
  it('renders completely, with sample data that says it is sample data', () => {
    const data = buildSampleNotice(kind, locale, variant);
    const notice = renderer.render(data);
    for (const part of [notice.subject, notice.html, notice.text]) expect(part).not.toMatch(/\{\{|\}\}/);
    expect(notice.text).toContain('(sample data)');
    expect(data.subscriptionId).toMatch(/^SAMPLE-/);
    expectEverywhere(notice, day(data.anniversary, locale));
  });

  it('states the invoice, its amount and, for a pending one, the last day to pay and how', () => {
    const data = buildSampleNotice(kind, locale, variant);
    if (!data.invoice) return;
    const notice = renderer.render(data);
    expectEverywhere(notice, data.invoice.number);
    expectEverywhere(notice, locale === 'en' ? `$${Number(data.invoice.amount).toLocaleString('en-US', { minimumFractionDigits: 2 })}` : 'US$');
    if (kind === 'invoice-pending') {
      expectEverywhere(notice, day(data.payBy!, locale));
      expect(notice.subject).toContain(day(data.payBy!, locale));
      expectEverywhere(notice, defaultPaymentInstructions[locale]);
      expectNowhere(notice, words[locale].noAction);
    }
  });

  it('never puts a period right after a partner name that ends with one', () => {
    const notice = renderer.render({ ...buildSampleNotice(kind, locale, variant), partner: { id: 'P-1', name: 'Contoso Inc.' } });
    for (const part of readAll(notice)) expect(part).not.toContain('Inc..');
  });

  it.runIf(locale === 'zh-TW')('uses full-width punctuation around Chinese text and even spacing in date ranges', () => {
    const notice = renderer.render({ ...buildSampleNotice(kind, locale, variant), partner: { id: 'P-1', name: '康托索' } });
    for (const part of [notice.subject, notice.text]) {
      // A link's address in the text part is Latin text in Latin parentheses.
      const prose = part.replace(/\(https?:[^)]*\)/g, '');
      expect(prose).not.toMatch(/[\u4e00-\u9fff][ \t]*[(),:;]|[(),:;][ \t]*[\u4e00-\u9fff]/);
      expect(prose).not.toMatch(/日至|至\d/);
    }
    expect(notice.text).toMatch(/\d日 至 \d/);
  });
});

describe('lapse notice, by the day it is written (R14: reactivation until 2020-06-30)', () => {
  it.each([
    { anniversary: '2020-05-30', lapsesOn: '2020-06-30', isOpen: true },
    { anniversary: '2020-05-31', lapsesOn: '2020-07-01', isOpen: false },
    { anniversary: '2020-06-15', lapsesOn: '2020-07-16', isOpen: false },
  ])('lapsing on $lapsesOn offers reactivation: $isOpen', ({ anniversary, lapsesOn, isOpen }) => {
    for (const locale of locales) {
      for (const isMigratedToPartnerCenter of [true, false]) {
        const subscription = buildCompetency({ anniversaryOn: anniversary, status: 'lapsed', lapsedOn: lapsesOn, isRequirementsMet: false });
        const partner = buildPartner({ locale, isMigratedToPartnerCenter });
        const data = buildNoticeData(config, 'lapsed', subscription, partner, { writtenOn: lapsesOn });
        const notice = renderer.render(data);
        const offersReactivation = [notice.html, notice.text].some(
          (part) => part.includes(words[locale].reactivateNow) || part.includes(words[locale].reactivateUntil) || /reactivate the competency by paying|重新啟用專長認證。/.test(part),
        );
        expect(offersReactivation, `${locale}, migrated ${isMigratedToPartnerCenter}`).toBe(isOpen);
        expect(notice.text.includes(words[locale].reactivateNow)).toBe(isOpen && isMigratedToPartnerCenter);
        if (!isOpen) expectEverywhere(notice, day('2020-06-30', locale));
      }
    }
  });
});

describe('remind-before of an auto-renewing Action Pack, by its payment (R7, R13)', () => {
  const auto = (overrides = {}) => buildSubscription({ isAutoRenew: true, ...overrides });

  it.each(locales)('card: the amount charged on A (%s)', (locale) => {
    const data = buildNoticeData(config, 'remind-before', auto(), buildPartner({ locale }));
    expect(data.autoRenewal).toEqual({ kind: 'card', amount: '475.00', currency: 'USD' });
    const notice = renderer.render(data);
    expectEverywhere(notice, locale === 'en' ? '$475.00' : 'US$475.00');
    expectEverywhere(notice, day('2019-09-01', locale));
    expectEverywhere(notice, words[locale].noAction);
  });

  it.each(locales)('bank transfer: an invoice of the fee issued on A, to pay by A + 30 (%s)', (locale) => {
    const data = buildNoticeData(config, 'remind-before', auto({ payment: { method: 'bank_transfer', contactName: 'A', phone: '1', email: 'a@b.example' } }), buildPartner({ locale }));
    expect(data.autoRenewal).toEqual({ kind: 'invoice', amount: '475.00', currency: 'USD', payBy: '2019-10-01' });
    const notice = renderer.render(data);
    expectEverywhere(notice, locale === 'en' ? 'invoice of $475.00' : '金額 US$475.00 的發票');
    expectEverywhere(notice, day('2019-10-01', locale));
    expectNowhere(notice, words[locale].noAction);
  });

  it('card under the manual gateway: an invoice, since every charge there waits for an operator', () => {
    const data = buildNoticeData(config, 'remind-before', auto(), buildPartner({ locale: 'en' }), { gatewayName: 'manual' });
    expect(data.autoRenewal).toEqual({ kind: 'invoice', amount: '475.00', currency: 'USD', payBy: '2019-10-01' });
    expectNowhere(renderer.render(data), words.en.noAction);
  });

  it.each(locales)('no payment on file: the renewal will fail unless a method is added (%s)', (locale) => {
    const data = buildNoticeData(config, 'remind-before', auto({ payment: null }), buildPartner({ locale }));
    expect(data.autoRenewal).toEqual({ kind: 'fails', reason: 'no-payment-method' });
    const notice = renderer.render(data);
    expect(notice.subject).toContain(words[locale].willFail);
    expectEverywhere(notice, locale === 'en' ? 'Add a credit card, or choose bank transfer' : '新增信用卡或選擇銀行轉帳');
    expectNowhere(notice, words[locale].noAction);
  });

  it.each(locales)('invalid bill-to: the renewal will fail unless the address is updated at BILL_TO_URL (%s)', (locale) => {
    const data = buildNoticeData(config, 'remind-before', auto(), buildPartner({ locale, billTo: { line1: '', city: 'Taipei', country: 'TW', postalCode: '100' } }));
    expect(data.autoRenewal).toEqual({ kind: 'fails', reason: 'invalid-address' });
    const notice = renderer.render(data);
    expect(notice.subject).toContain(words[locale].willFail);
    expectEverywhere(notice, config.billToUrl, [notice.html, notice.text]);
    expectNowhere(notice, config.renewUrl);
    expectNowhere(notice, words[locale].noAction);
  });
});

describe('invoice-pending', () => {
  it.each(locales)('a renewal is paid by A + 30, with the configured instructions (%s)', (locale) => {
    const data = buildNoticeData(config, 'invoice-pending', buildSubscription(), buildPartner({ locale }), {
      invoice: invoiceRow({ purpose: 'renewal', issued_on: '2019-09-10' }),
      newAnniversary: '2020-08-31',
      writtenOn: '2019-09-10',
    });
    expect(data.payBy).toBe('2019-10-01');
    const notice = renderer.render(data);
    expectEverywhere(notice, 'INV-2019-000001');
    expectEverywhere(notice, locale === 'en' ? '$475.00' : 'US$475.00');
    expectEverywhere(notice, day('2019-10-01', locale));
    expectEverywhere(notice, config.paymentInstructions[locale]);
  });

  it('a covid-19-2020 reactivation is paid by the exception deadline, not A + 30', () => {
    const subscription = buildCompetency({ status: 'lapsed', lapsedOn: '2020-04-10', isRequirementsMet: false });
    const data = buildNoticeData(config, 'invoice-pending', subscription, buildPartner({ locale: 'en' }), {
      invoice: invoiceRow({ purpose: 'reactivation', subscription_id: 'S-2', anniversary_on: '2020-03-10', amount_minor: 473_000, issued_on: '2020-05-04', renews_to: '2021-03-10' }),
      writtenOn: '2020-05-04',
    });
    expect(data).toMatchObject({ payBy: '2020-06-30', isReactivation: true });
    const notice = renderer.render(data);
    expect(notice.subject).toContain('June 30, 2020');
    expect(notice.subject).toContain('reactivate');
    expectEverywhere(notice, '$4,730.00');
  });

  it('escapes the instructions in HTML and keeps their lines', () => {
    const data = { ...buildSampleNotice('invoice-pending', 'en'), paymentInstructions: 'Bank <A&B>\nAccount 1' };
    const notice = renderer.render(data);
    expect(notice.html).toContain('Bank &lt;A&amp;B&gt;<br>Account 1');
    expect(notice.text).toContain('Bank <A&B>\nAccount 1');
  });
});

describe('receipts', () => {
  it.each(locales)('a catch-up charge names the day it was made, the new anniversary and the next window (%s)', (locale) => {
    const subscription = buildSubscription({ isAutoRenew: true, anniversaryOn: '2019-10-01' });
    const data = buildNoticeData(config, 'auto-renew-receipt', subscription, buildPartner({ locale }), {
      invoice: invoiceRow({ method: 'credit_card', status: 'paid', issued_on: '2019-10-06', paid_on: '2019-10-06', anniversary_on: '2019-10-01', renews_to: '2020-10-01' }),
      newAnniversary: '2020-10-01',
      writtenOn: '2019-10-06',
    });
    expect(data.chargedOn).toBe('2019-10-06');
    const notice = renderer.render(data);
    expectEverywhere(notice, day('2019-10-06', locale));
    expectEverywhere(notice, day('2020-10-01', locale));
    expectEverywhere(notice, day('2020-10-02', locale)); // next window opens
    expectEverywhere(notice, day('2020-10-31', locale)); // and closes
    expectNowhere(notice, locale === 'en' ? 'its anniversary' : '（週年日）');
  });

  it('a charge on A says it was the anniversary', () => {
    const data = buildNoticeData(config, 'auto-renew-receipt', buildSubscription({ isAutoRenew: true }), buildPartner({ locale: 'en' }), {
      invoice: invoiceRow({ method: 'credit_card', status: 'paid', paid_on: '2019-09-01' }),
      newAnniversary: '2020-09-01',
    });
    expect(renderer.render(data).text).toContain('on September 1, 2019, its anniversary');
  });

  it.each(locales)('a renewal under the covid-19-2020 waiver says so (%s)', (locale) => {
    const waived = buildCompetency({ isRequirementsMet: false });
    const invoice = invoiceRow({ purpose: 'renewal', status: 'paid', paid_on: '2020-03-20', subscription_id: 'S-2', anniversary_on: '2020-03-10', amount_minor: 473_000 });
    const under = renderer.render(buildNoticeData(config, 'renewed', waived, buildPartner({ locale }), { invoice, newAnniversary: '2021-03-10' }));
    const met = renderer.render(buildNoticeData(config, 'renewed', buildCompetency(), buildPartner({ locale }), { invoice, newAnniversary: '2021-03-10' }));
    const phrase = locale === 'en' ? 'renewal was granted under the COVID-19 exception' : '此次續約適用因應 COVID-19 的例外措施';
    expectEverywhere(under, phrase);
    expectEverywhere(under, day('2020-03-20', locale));
    expect(met.text).not.toContain(phrase);
  });
});

describe('auto-renew-failed', () => {
  it.each(locales)('for an invalid bill-to links to BILL_TO_URL, not to "renew now" (%s)', (locale) => {
    const data = buildNoticeData(config, 'auto-renew-failed', buildSubscription({ isAutoRenew: true }), buildPartner({ locale }), { failureReason: 'invalid-address', writtenOn: '2019-09-01' });
    const notice = renderer.render(data);
    expectEverywhere(notice, config.billToUrl, [notice.html, notice.text]);
    expectNowhere(notice, config.renewUrl);
    expectNowhere(notice, words[locale].renewNow);
  });

  it('for a declined card still offers to renew now', () => {
    const data = buildNoticeData(config, 'auto-renew-failed', buildSubscription({ isAutoRenew: true }), buildPartner({ locale: 'en' }), { failureReason: 'declined' });
    expect(renderer.render(data).text).toContain(`Renew now: ${config.renewUrl}`);
  });
});

describe('footer', () => {
  const base = (): NoticeData => buildSampleNotice('renewed', 'en');

  it.each([
    { locale: 'en' as const, one: 'you are the global admin on record for', many: 'Mei Lin (MPN partner admin) and Ming (sales agent)' },
    { locale: 'zh-TW' as const, one: '登記的「全域系統管理員」', many: 'Mei Lin（MPN 合作夥伴系統管理員）、Ming（銷售代理人）' },
  ])('tells each reader their own role, never the list of every role ($locale)', ({ locale, one, many }) => {
    const single = renderer.render({ ...base(), locale, audience: [{ name: 'Ana', role: 'global_admin' }] });
    const several = renderer.render({ ...base(), locale, audience: [{ name: 'Mei Lin', role: 'mpn_partner_admin' }, { name: 'Ming', role: 'sales_agent' }] });
    expectEverywhere(single, one);
    expectEverywhere(several, many);
    for (const notice of [single, several]) expectNowhere(notice, locale === 'en' ? 'user admin, MPN partner admin, admin agent or sales agent' : '使用者系統管理員、MPN 合作夥伴系統管理員、系統管理代理人或銷售代理人');
  });
});

describe('findNoticeClock: the Date of a message', () => {
  const now = new Date('2026-11-30T10:15:00Z');

  it('is now in the daemon, where today is the real day', () => {
    const clock = findNoticeClock({ today: () => todayIn('Asia/Taipei', now), now: () => now, config: { timeZone: 'Asia/Taipei' } as never });
    expect(clock.messageDate).toEqual(now);
  });

  it('is the simulated day in simulate, at the same time of day', () => {
    const clock = findNoticeClock({ today: () => '2020-07-16', now: () => now, config: { timeZone: 'UTC' } as never });
    expect(clock).toEqual({ writtenOn: '2020-07-16', messageDate: new Date('2020-07-16T10:15:00Z') });
  });
});
