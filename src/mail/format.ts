import type { IsoDate, Locale } from './types.js';

const intlLocales: Record<Locale, string> = { en: 'en-US', 'zh-TW': 'zh-TW' };

/** Reused formatted values: a bulk run repeats the same few dates and amounts. Bounded so a long-lived worker does not grow. */
const cacheLimit = 4096;

const isoDatePattern = /^(\d{4})-(\d{2})-(\d{2})$/;
const decimalPattern = /^-?\d+(\.\d+)?$/;

export interface LocaleFormat {
  /** "September 1, 2019" / "2019年9月1日"; undefined for anything but a valid YYYY-MM-DD. */
  formatDate(date: IsoDate): string | undefined;
  /** "$475.00" / "US$475.00"; undefined for a malformed amount or currency code. */
  formatAmount(amount: string, currency: string): string | undefined;
  /** A recipient role (R10) as the reader knows it: "MPN partner admin" / "MPN 合作夥伴系統管理員". */
  roleLabel(role: string): string;
  /** "A, B and C" / "A、B、C". */
  formatList(items: readonly string[]): string;
  /** One reader and their role: "Mei Lin (global admin)" / "Mei Lin（全域系統管理員）". */
  formatReader(name: string, role: string): string;
}

// Role names are words of the notice, but they are chosen per recipient at send time, so they live here, not in the string tables.
const roleLabels: Record<Locale, Record<string, string>> = {
  en: {
    global_admin: 'global admin',
    user_admin: 'user admin',
    mpn_partner_admin: 'MPN partner admin',
    admin_agent: 'admin agent',
    sales_agent: 'sales agent',
  },
  'zh-TW': {
    global_admin: '全域系統管理員',
    user_admin: '使用者系統管理員',
    mpn_partner_admin: 'MPN 合作夥伴系統管理員',
    admin_agent: '系統管理代理人',
    sales_agent: '銷售代理人',
  },
};

export function createLocaleFormat(locale: Locale): LocaleFormat {
  const intlLocale = intlLocales[locale];
  // timeZone UTC on a UTC midnight: the calendar date never shifts by a day.
  const dateFormat = new Intl.DateTimeFormat(intlLocale, { dateStyle: 'long', timeZone: 'UTC' });
  const dates = new Map<string, string>();
  const currencyFormats = new Map<string, Intl.NumberFormat>();

  function formatDate(date: IsoDate): string | undefined {
    const cached = dates.get(date);
    if (cached !== undefined) return cached;
    const match = isoDatePattern.exec(date);
    if (!match) return undefined;
    const year = Number(match[1]);
    const month = Number(match[2]);
    const day = Number(match[3]);
    const time = Date.UTC(year, month - 1, day);
    const check = new Date(time);
    if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return undefined;
    const formatted = dateFormat.format(time);
    if (dates.size >= cacheLimit) dates.clear();
    dates.set(date, formatted);
    return formatted;
  }

  function formatAmount(amount: string, currency: string): string | undefined {
    if (!decimalPattern.test(amount)) return undefined;
    let format = currencyFormats.get(currency);
    if (format === undefined) {
      try {
        format = new Intl.NumberFormat(intlLocale, { style: 'currency', currency });
      } catch {
        return undefined;
      }
      currencyFormats.set(currency, format);
    }
    // The decimal string goes to Intl as is, so "0.10" is never rounded through a float.
    return format.format(amount as `${number}`);
  }

  const listFormat = new Intl.ListFormat(intlLocale, { style: 'long', type: 'conjunction' });
  const labels = roleLabels[locale];
  return {
    formatDate,
    formatAmount,
    roleLabel: (role) => labels[role] ?? role.replace(/_/g, ' '),
    // zh-TW: the enumeration comma, which needs no spaces next to Latin names.
    formatList: (items) => (locale === 'zh-TW' ? items.join('、') : listFormat.format(items)),
    // zh-TW: full-width parentheses around CJK text.
    formatReader: (name, role) => (locale === 'zh-TW' ? `${name}（${role}）` : `${name} (${role})`),
  };
}

const htmlSpecial = /[&<>"']/;
const htmlSpecialAll = /[&<>"']/g;
const htmlEntities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML content and quoted attributes. */
export function escapeHtml(text: string): string {
  if (!htmlSpecial.test(text)) return text;
  return text.replace(htmlSpecialAll, (char) => htmlEntities[char] ?? char);
}

const controlCharacters = /[\u0000-\u001f\u007f]/;
const controlCharactersAll = /[\u0000-\u001f\u007f]+/g;

/** Partner-supplied text on one line: a newline in a name must not break a subject or a text layout. */
export function flattenLine(text: string): string {
  if (!controlCharacters.test(text)) return text;
  return text.replace(controlCharactersAll, ' ');
}
