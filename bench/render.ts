/**
 * Notice rendering throughput: filling the templates compiled at start versus running MJML for
 * every message. Usage: node --import tsx bench/render.ts [notices=50000] [mjmlNotices=200]
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import mjml2html from 'mjml';
import { createLocaleFormat } from '../src/mail/format.js';
import { buildNoticeValues } from '../src/mail/notice-values.js';
import { compileMjml, createNoticeRenderer, expandNoticeSources, placeholderNames } from '../src/mail/render.js';
import { buildSampleNotice } from '../src/mail/sample.js';
import { compileTemplate, fillTemplate } from '../src/mail/template.js';
import { locales, noticeKinds, type Locale, type NoticeData, type NoticeKind, type RenewalFailureReason } from '../src/mail/types.js';

const noticeCount = Number(process.argv[2] ?? 50_000);
const mjmlNoticeCount = Number(process.argv[3] ?? 200);

const failureReasons: RenewalFailureReason[] = ['declined', 'expired-card', 'invalid-address', 'no-payment-method', 'gateway-error'];
const dayMs = 86_400_000;
const isoDay = (time: number): string => new Date(time).toISOString().slice(0, 10);

/** Mixed kinds and locales, a year of anniversaries, a different partner and subscription each time. */
function buildNotices(count: number): NoticeData[] {
  const start = Date.UTC(2019, 0, 1);
  return Array.from({ length: count }, (_, i) => {
    const kind = noticeKinds[i % noticeKinds.length] as NoticeKind;
    const locale = locales[Math.floor(i / noticeKinds.length) % locales.length] as Locale;
    const sample = buildSampleNotice(kind, locale);
    const anniversary = start + (i % 365) * dayMs;
    return {
      ...sample,
      subscriptionId: `S-${i}`,
      partner: { id: `P-${i % 997}`, name: i % 3 === 0 ? `Contoso <Ltd> & Co ${i}` : `Fabrikam ${i}` },
      anniversary: isoDay(anniversary),
      windowOpens: isoDay(anniversary + dayMs),
      windowCloses: isoDay(anniversary + 30 * dayMs),
      lapsesOn: isoDay(anniversary + 31 * dayMs),
      newAnniversary: sample.newAnniversary && isoDay(anniversary + 365 * dayMs),
      isAutoRenewing: kind === 'remind-before' && i % 2 === 0,
      failureReason: kind === 'auto-renew-failed' ? failureReasons[i % failureReasons.length] : undefined,
    };
  });
}

/**
 * `isEncoding`: also UTF-8 encode the parts, as a send does next. Filling leaves V8 string ropes;
 * encoding flattens them, which costs more than the fill itself.
 */
async function measureFill(notices: readonly NoticeData[], isEncoding: boolean): Promise<{ seconds: number; bytes: number }> {
  const renderer = await createNoticeRenderer();
  for (const notice of notices.slice(0, 2000)) renderer.render(notice);
  let bytes = 0;
  const started = performance.now();
  for (const notice of notices) {
    const rendered = renderer.render(notice);
    bytes += isEncoding
      ? Buffer.byteLength(rendered.html) + Buffer.byteLength(rendered.text) + Buffer.byteLength(rendered.subject)
      : rendered.html.length + rendered.text.length + rendered.subject.length;
  }
  return { seconds: (performance.now() - started) / 1000, bytes };
}

async function measureMjmlPerMessage(notices: readonly NoticeData[]): Promise<{ seconds: number; bytes: number }> {
  const sources = await expandNoticeSources();
  const templates = new Map(
    [...sources].flatMap(([kind, byLocale]) =>
      [...byLocale].map(([locale, source]) => [`${kind}/${locale}`, compileTemplate(source.mjml, source.origin, placeholderNames)] as const),
    ),
  );
  const formats = new Map(locales.map((locale) => [locale, createLocaleFormat(locale)]));
  let bytes = 0;
  const started = performance.now();
  for (const notice of notices) {
    const values = buildNoticeValues(notice, formats.get(notice.locale)!);
    const mjml = fillTemplate(templates.get(`${notice.kind}/${notice.locale}`)!, values.html, values.flags);
    const html = await compileMjml(mjml2html, mjml, notice.kind);
    bytes += Buffer.byteLength(html);
  }
  return { seconds: (performance.now() - started) / 1000, bytes };
}

const compileStarted = performance.now();
await createNoticeRenderer();
const compileSeconds = (performance.now() - compileStarted) / 1000;

const notices = buildNotices(noticeCount);
const fill = await measureFill(notices, false);
const fillAndEncode = await measureFill(notices, true);
const perMessage = await measureMjmlPerMessage(notices.slice(0, mjmlNoticeCount));
const fillRate = noticeCount / fill.seconds;
const fillAndEncodeRate = noticeCount / fillAndEncode.seconds;
const mjmlRate = mjmlNoticeCount / perMessage.seconds;

const row = (cells: (string | number)[]): string =>
  cells.map((cell, i) => (i === 0 ? String(cell).padEnd(34) : String(cell).padStart(12))).join('');
const rate = (value: number): string => Math.round(value).toLocaleString('en-US');

console.log(`notice rendering · Node ${process.version} · ${os.cpus()[0]?.model ?? 'unknown CPU'} · one core (single thread)`);
console.log(`start-up: ${noticeKinds.length * locales.length} notices (kind × locale) compiled with MJML in ${compileSeconds.toFixed(2)} s`);
console.log(row(['method', 'notices', 'seconds', 'notices/s', 'vs MJML']));
console.log(row(['precompiled: fill', noticeCount, fill.seconds.toFixed(2), rate(fillRate), `${Math.round(fillRate / mjmlRate)}x`]));
console.log(row(['precompiled: fill + UTF-8 encode', noticeCount, fillAndEncode.seconds.toFixed(2), rate(fillAndEncodeRate), `${Math.round(fillAndEncodeRate / mjmlRate)}x`]));
console.log(row(['mjml2html per message', mjmlNoticeCount, perMessage.seconds.toFixed(2), rate(mjmlRate), '1x']));
console.log(`average HTML + text size: ${(fill.bytes / noticeCount / 1024).toFixed(1)} K characters`);
