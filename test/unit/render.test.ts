import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerPreview } from '../../src/cli/commands/preview.js';
import { InputError, PermanentError } from '../../src/errors.js';
import { buildMessageId, selectRecipients } from '../../src/mail/mailer.js';
import mjml2html from 'mjml';
import { createLocaleFormat } from '../../src/mail/format.js';
import { buildNoticeValues } from '../../src/mail/notice-values.js';
import {
  compileMjml,
  createNoticeRenderer,
  expandNoticeSources,
  findDefaultTemplatesDir,
  placeholderNames,
  type NoticeRenderer,
} from '../../src/mail/render.js';
import { compileTemplate, fillTemplate } from '../../src/mail/template.js';
import { buildSampleNotice, sampleVariants } from '../../src/mail/sample.js';
import { locales, noticeKinds, type Locale, type NoticeData, type NoticeKind } from '../../src/mail/types.js';

const monthNames = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** Written out by hand rather than through Intl, so the test does not share the code it checks. */
function expectedDate(iso: string, locale: Locale): string {
  const [year, month, day] = iso.split('-').map(Number) as [number, number, number];
  return locale === 'en' ? `${monthNames[month - 1]} ${day}, ${year}` : `${year}年${month}月${day}日`;
}

const hanCharacter = /[\u4e00-\u9fff]/;

/** The HTML's visible text, so a phrase can be found across the <strong> and <span> inside it. */
const stripTags = (html: string): string => html.replace(/<[^>]*>/g, '');

let renderer: NoticeRenderer;

beforeAll(async () => {
  renderer = await createNoticeRenderer();
});

function buildNotice(kind: NoticeKind, locale: Locale, overrides: Partial<NoticeData> = {}): NoticeData {
  return { ...buildSampleNotice(kind, locale), ...overrides };
}

const table = noticeKinds.flatMap((kind) => locales.map((locale) => ({ kind, locale })));

describe.each(table)('$kind in $locale', ({ kind, locale }) => {
  it('has a subject in its own language', () => {
    const { subject } = renderer.render(buildNotice(kind, locale));
    expect(subject.trim()).not.toBe('');
    expect(subject).not.toContain('{{');
    expect(hanCharacter.test(subject)).toBe(locale === 'zh-TW');
    const other = renderer.render(buildNotice(kind, locale === 'en' ? 'zh-TW' : 'en')).subject;
    expect(subject).not.toBe(other);
  });

  it('states the anniversary and the renewal window, formatted for the locale, in both parts', () => {
    const data = buildNotice(kind, locale);
    const { html, text } = renderer.render(data);
    for (const date of [data.anniversary, data.windowOpens, data.windowCloses]) {
      expect(html).toContain(expectedDate(date, locale));
      expect(text).toContain(expectedDate(date, locale));
    }
    expect(html).not.toMatch(/\{\{|\}\}/);
    expect(text).not.toMatch(/\{\{|\}\}|<\/?[a-z]+[ >]/);
    expect(html).toContain(`lang="${locale === 'en' ? 'en' : 'zh-Hant-TW'}"`);
  });

  it('escapes partner-supplied text in the HTML only', () => {
    const data = buildNotice(kind, locale, { partner: { id: 'P-9', name: '<script>alert(1)</script>' } });
    const { html, text, subject } = renderer.render(data);
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(text).toContain('<script>alert(1)</script>');
    expect(subject).not.toContain('&lt;');
  });
});

describe('compiling once', () => {
  it('gives the same HTML as running MJML on every message, for every variant', async () => {
    const sources = await expandNoticeSources();
    const everyVariant = table.flatMap(({ kind, locale }) => sampleVariants[kind].map((variant) => ({ kind, locale, variant: variant.name })));
    for (const { kind, locale, variant } of everyVariant) {
      const data = buildSampleNotice(kind, locale, variant);
      const source = sources.get(kind)!.get(locale)!;
      const values = buildNoticeValues(data, createLocaleFormat(locale));
      const filled = fillTemplate(compileTemplate(source.mjml, source.origin, placeholderNames), values.html, values.flags);
      const perMessage = await compileMjml(mjml2html, filled, source.origin);
      // MJML merges adjacent Outlook conditional comments; a section left out by a flag keeps them apart, which Outlook reads the same.
      const squash = (html: string): string =>
        html.replace(/\s+/g, ' ').replace(/> </g, '><').replace(/<!\[endif\]--><!--\[if mso \| IE\]>/g, '');
      expect(squash(renderer.render(data).html), `${kind} ${variant} ${locale}`).toBe(squash(perMessage));
    }
  });
});

describe('receipts', () => {
  it.each([
    { kind: 'auto-renew-receipt', locale: 'en', amount: '$475.00' },
    { kind: 'auto-renew-receipt', locale: 'zh-TW', amount: 'US$475.00' },
    { kind: 'renewed', locale: 'en', amount: '$475.00' },
    { kind: 'renewed', locale: 'zh-TW', amount: 'US$475.00' },
  ] as const)('$kind in $locale shows the invoice number and $amount', ({ kind, locale, amount }) => {
    const data = buildNotice(kind, locale);
    const { html, text } = renderer.render(data);
    for (const part of [html, text]) {
      expect(part).toContain(data.invoice!.number);
      expect(part).toContain(amount);
      expect(part).toContain('USD');
      expect(part).toContain(expectedDate(data.newAnniversary!, locale));
    }
  });

  it('a pending invoice is not a receipt: it goes out as invoice-pending, with the last day to pay', () => {
    const { subject, text } = renderer.render(buildSampleNotice('invoice-pending', 'en', 'auto-renew-bank-transfer'));
    expect(subject).toContain(`by ${expectedDate('2019-10-01', 'en')}`);
    expect(text).toContain('Pending payment');
    expect(text).toContain(`Pay by ${expectedDate('2019-10-01', 'en')}`);
    expect(text).not.toContain('was renewed automatically');
    expect(text).not.toContain("you don't need to do anything");
  });
});

describe('remind-before of an Action Pack', () => {
  it.each([
    { locale: 'en', charge: 'on September 1, 2019 we will charge $475.00 to the credit card on file' },
    { locale: 'zh-TW', charge: '我們將於 2019年9月1日向您登錄的信用卡收取 US$475.00 費用' },
  ] as const)('announces the automatic charge in $locale only when auto-renew is on', ({ locale, charge }) => {
    const auto = renderer.render(buildNotice('remind-before', locale, { isAutoRenewing: true }));
    const manual = renderer.render(buildNotice('remind-before', locale, { isAutoRenewing: false }));
    expect(stripTags(auto.html)).toContain(charge);
    expect(auto.text).toContain(charge);
    expect(stripTags(manual.html)).not.toContain(charge);
    expect(manual.text).not.toContain(charge);
    expect(manual.text).toContain(expectedDate('2019-10-02', locale));
  });
});

describe('COVID-19 exception (R14)', () => {
  it.each(locales)('appears only when the notice carries it (%s)', (locale) => {
    const marker = 'COVID-19';
    const withException = renderer.render(buildNotice('remind-after', locale));
    const without = renderer.render(buildNotice('remind-after', locale, { exception: undefined }));
    expect(withException.html).toContain(marker);
    expect(withException.text).toContain(marker);
    expect(withException.text).toContain(expectedDate('2021-03-10', locale));
    expect(without.html).not.toContain(marker);
    expect(without.text).not.toContain(marker);
  });

  it.each([
    { locale: 'en', eligible: 'moving your membership to Partner Center makes you eligible' },
    { locale: 'zh-TW', eligible: '將成員資格移至合作夥伴中心，即可符合資格' },
  ] as const)('tells a partner not moved yet that moving makes it eligible ($locale)', ({ locale, eligible }) => {
    const sample = buildNotice('remind-after', locale);
    const notMoved = renderer.render({ ...sample, exception: { ...sample.exception!, isEligible: false } });
    const moved = renderer.render(sample);
    expect(notMoved.text).toContain(eligible);
    expect(notMoved.html).toContain(eligible);
    expect(moved.text).not.toContain(eligible);
  });

  it('offers reactivation until the deadline on a lapsed competency', () => {
    const { text } = renderer.render(buildNotice('lapsed', 'en'));
    expect(text).toContain('reactivate the competency by paying its fee until June 30, 2020');
  });
});

describe('auto-renew-failed', () => {
  it.each([
    { reason: 'declined', phrase: 'card was declined' },
    { reason: 'expired-card', phrase: 'card has expired' },
    { reason: 'invalid-address', phrase: 'Update your bill-to address' },
    { reason: 'no-payment-method', phrase: 'no payment method on file' },
    { reason: 'gateway-error', phrase: 'Nothing was charged' },
  ] as const)('explains $reason', ({ reason, phrase }) => {
    const { text, html } = renderer.render(buildNotice('auto-renew-failed', 'en', { failureReason: reason }));
    expect(text).toContain(phrase);
    expect(html).toContain(phrase);
  });
});

describe('lapsed', () => {
  it('says the competency is lost too', () => {
    const { text } = renderer.render(buildNotice('lapsed', 'en', { exception: undefined }));
    expect(text).toContain('no longer holds the competency');
    expect(text).toContain('lapsed on April 10, 2020');
  });
});

describe('render input', () => {
  it('formats a leap day without shifting it', () => {
    const { text } = renderer.render(buildNotice('remind-before', 'zh-TW', { anniversary: '2020-02-29' }));
    expect(text).toContain('2020年2月29日');
  });

  it('refuses a malformed date with a PermanentError naming the field', () => {
    expect(() => renderer.render(buildNotice('lapsed', 'en', { lapsesOn: '2020-13-01' }))).toThrow(PermanentError);
    expect(() => renderer.render(buildNotice('lapsed', 'en', { lapsesOn: '10/04/2020' }))).toThrow(/lapsesOn/);
  });

  it('falls back to English for an unknown locale', () => {
    const data = { ...buildNotice('renewed', 'en'), locale: 'fr' as Locale };
    expect(renderer.render(data).subject).toBe(renderer.render(buildNotice('renewed', 'en')).subject);
  });
});

describe('createNoticeRenderer checks the templates at start', () => {
  let templatesDir: string;

  beforeAll(async () => {
    templatesDir = await mkdtemp(path.join(tmpdir(), 'notice-templates-'));
  });
  afterAll(async () => {
    await rm(templatesDir, { recursive: true, force: true });
  });

  async function copyTemplates(name: string): Promise<string> {
    const dir = path.join(templatesDir, name);
    await cp(findDefaultTemplatesDir(), dir, { recursive: true });
    return dir;
  }

  it('names a missing template file', async () => {
    const dir = await copyTemplates('missing-file');
    await rm(path.join(dir, 'notices', 'lapsed.txt'));
    await expect(createNoticeRenderer({ templatesDir: dir })).rejects.toThrow(/notices[/\\]lapsed\.txt/);
  });

  it('names a string key missing from one locale', async () => {
    const dir = await copyTemplates('missing-key');
    const file = path.join(dir, 'strings', 'zh-TW.json');
    const strings = JSON.parse(await readFile(file, 'utf8')) as Record<string, Record<string, string>>;
    delete strings['lapsed']!['lost'];
    await writeFile(file, JSON.stringify(strings));
    await expect(createNoticeRenderer({ templatesDir: dir })).rejects.toThrow(/zh-TW\.json: missing string "lapsed\.lost"/);
  });

  it('names an unknown placeholder and where it is', async () => {
    const dir = await copyTemplates('unknown-placeholder');
    const file = path.join(dir, 'notices', 'renewed.mjml');
    await writeFile(file, `${await readFile(file, 'utf8')}<mj-raw>{{partnerNickname}}</mj-raw>\n`);
    await expect(createNoticeRenderer({ templatesDir: dir })).rejects.toThrow(/renewed\.mjml: unknown placeholder \{\{partnerNickname\}\}/);
  });

  it('names a string used by the HTML but not by the text part', async () => {
    const dir = await copyTemplates('text-twin');
    const file = path.join(dir, 'notices', 'renewed.txt');
    await writeFile(file, (await readFile(file, 'utf8')).replace('{{t.@.next}}', ''));
    await expect(createNoticeRenderer({ templatesDir: dir })).rejects.toThrow(/renewed\.txt .*t\.@\.next/);
  });
});

describe('selectRecipients (R10)', () => {
  it('keeps the buying roles, each address once', () => {
    const recipients = selectRecipients([
      { name: 'Global', email: 'global@contoso.example', role: 'global_admin' },
      { name: 'User', email: 'user@contoso.example', role: 'user_admin' },
      { name: 'Partner', email: 'mpn@contoso.example', role: 'mpn_partner_admin' },
      { name: 'Admin agent', email: 'agent@contoso.example', role: 'admin_agent' },
      { name: 'Sales', email: 'sales@contoso.example', role: 'sales_agent' },
      { name: 'Other', email: 'other@contoso.example', role: 'other' },
      { name: 'Global again', email: 'GLOBAL@contoso.example', role: 'sales_agent' },
    ]);
    expect(recipients.map((recipient) => recipient.email)).toEqual([
      'global@contoso.example',
      'user@contoso.example',
      'mpn@contoso.example',
      'agent@contoso.example',
      'sales@contoso.example',
    ]);
  });

  it('returns nothing when no contact may receive notices', () => {
    expect(selectRecipients([{ name: 'Other', email: 'other@contoso.example', role: 'other' }])).toEqual([]);
  });
});

describe('buildMessageId', () => {
  it('is stable and keeps unsafe ids inside the local part', () => {
    const data = { kind: 'lapsed' as const, subscriptionId: 'S-1', anniversary: '2020-03-10' };
    expect(buildMessageId(data, 'lifecycle.test')).toBe('<lapsed.S-1.2020-03-10@lifecycle.test>');
    expect(buildMessageId({ ...data, subscriptionId: 'S 1/<x>@y' }, 'lifecycle.test')).toBe(
      '<lapsed.S=201=2F=3Cx=3E=40y.2020-03-10@lifecycle.test>',
    );
  });

  it('tells a reactivation invoice from the renewal invoice a lapse voided in the same cycle', () => {
    const data = { kind: 'invoice-pending' as const, subscriptionId: 'S-1', anniversary: '2020-03-10' };
    expect(buildMessageId(data, 'lifecycle.test')).toBe('<invoice-pending.S-1.2020-03-10@lifecycle.test>');
    expect(buildMessageId({ ...data, isReactivation: true }, 'lifecycle.test')).toBe('<invoice-pending.S-1.2020-03-10.reactivation@lifecycle.test>');
    expect(buildMessageId({ ...data, kind: 'renewed', isReactivation: true }, 'lifecycle.test')).toBe('<renewed.S-1.2020-03-10@lifecycle.test>');
  });
});

describe('preview command', () => {
  async function runPreview(...args: string[]): Promise<{ stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const program = new Command().exitOverride();
    registerPreview(program, { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text) } });
    await program.parseAsync(['preview', ...args], { from: 'user' });
    return { stdout, stderr };
  }

  it('prints the HTML of the sample notice', async () => {
    const { stdout } = await runPreview('lapsed', '--locale', 'zh-TW');
    expect(stdout).toMatch(/^<!doctype html>/);
    expect(stdout).toContain('Sample Partner Ltd (sample data)');
  });

  it('prints the text part with --text', async () => {
    const { stdout } = await runPreview('renewed', '--text');
    expect(stdout).toContain('Sample Partner Ltd (sample data)');
    expect(stdout).not.toContain('<html');
  });

  it('writes to --out and says where on stderr', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'notice-preview-'));
    try {
      const file = path.join(dir, 'preview.html');
      const { stdout, stderr } = await runPreview('auto-renew-receipt', '--out', file);
      expect(stdout).toBe('');
      expect(stderr).toContain(file);
      expect(await readFile(file, 'utf8')).toContain('SAMPLE-INV-1');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('renders the variant named by --variant', async () => {
    const { stdout } = await runPreview('lapsed', '--variant', 'reactivation-closed', '--text');
    expect(stdout).toContain('that period has ended');
    expect(stdout).not.toContain('Reactivate now');
    await expect(runPreview('lapsed', '--variant', 'nope')).rejects.toThrow(/--variant nope: notice lapsed has the variants reactivation-open, reactivation-closed/);
  });

  it('lists every kind and its variants with --list', async () => {
    const { stdout } = await runPreview('--list');
    for (const kind of noticeKinds) expect(stdout).toMatch(new RegExp(`^${kind}$`, 'm'));
    expect(stdout).toMatch(/^ {2}bank-transfer +auto-renewing Action Pack paid by bank transfer/m);
  });

  it('writes one HTML and one text file per kind, variant and locale with --all --out DIR', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'notice-preview-all-'));
    try {
      const { stderr } = await runPreview('--all', '--out', dir);
      const files = await readdir(dir);
      const expected = noticeKinds.reduce((sum, kind) => sum + sampleVariants[kind].length, 0) * locales.length * 2;
      expect(files).toHaveLength(expected);
      expect(files).toContain('invoice-pending.reactivation.zh-TW.html');
      expect(await readFile(path.join(dir, 'invoice-pending.reactivation.en.txt'), 'utf8')).toMatch(/^Subject: Invoice SAMPLE-INV-6: pay \$4,730\.00 by June 30, 2020/);
      expect(stderr).toContain(`wrote ${expected} previews`);
      await expect(runPreview('--all')).rejects.toThrow(/--out DIR is required/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects an unknown kind or locale with an InputError listing the valid ones', async () => {
    await expect(runPreview('reminder')).rejects.toThrow(InputError);
    await expect(runPreview('reminder')).rejects.toThrow(noticeKinds.join(', '));
    await expect(runPreview('lapsed', '--locale', 'fr')).rejects.toThrow(/unknown locale "fr": expected one of en, zh-TW/);
  });
});
