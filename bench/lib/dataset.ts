import { createWriteStream, type WriteStream } from 'node:fs';
import { addDays, addYears, type IsoDate } from '../../src/policy/dates.js';

/** Deterministic PRNG (mulberry32): the same seed gives the same data set. */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface DatasetOptions {
  subscriptions: number;
  /** Subscriptions per partner. @defaultValue 4 */
  perPartner?: number;
  /**
   * The anniversary of subscription i, given its draw `r` in [0, 1) and whether it auto-renews:
   * the caller decides the spread (a year around a typical day, a season, …).
   */
  anniversaryOf(r: number, isAutoRenew: boolean): IsoDate;
  /** Share of all subscriptions that are Action Packs with auto-renew on. @defaultValue 0.2 */
  autoRenewShare?: number;
  /** Share of the others that are Action Packs without auto-renew (the rest are competencies). @defaultValue 0.25 */
  manualActionPackShare?: number;
  /**
   * Payment of an auto-renewing Action Pack, as shares: card approved, declined, expired; bank
   * transfer; none (a failure notice, R7). @defaultValue all approved cards
   */
  payments?: { visa: number; declined: number; expired: number; bankTransfer: number; none: number };
  /** Share of partners with no contact holding a purchasing role (R10: undeliverable). @defaultValue 0.02 */
  noRecipientShare?: number;
  /** Share of partners whose bill-to lacks a postal code where one is required (R13). @defaultValue 0 */
  invalidAddressShare?: number;
  seed?: number;
}

const areas = ['Cloud Platform', 'Data Analytics', 'Modern Workplace', 'Security', 'Application Development', 'Data Center'];
const purchasingRoles = ['mpn_partner_admin', 'global_admin', 'user_admin', 'admin_agent', 'sales_agent'] as const;
/** Where generated partners are billed (and their locale): bench/core.ts draws from the same places. */
export const places = [
  { country: 'TW', city: '台北市', postalCode: '100', locale: 'zh-TW' },
  { country: 'US', city: 'Seattle', postalCode: '98101', region: 'WA', locale: 'en' },
  { country: 'GB', city: 'London', postalCode: 'SW1A 1AA', locale: 'en' },
  { country: 'IE', city: 'Dublin', locale: 'en' },
  { country: 'AU', city: 'Sydney', postalCode: '2000', locale: 'en' },
] as const;

export function partnerId(index: number): string {
  return `P-${String(index + 1).padStart(7, '0')}`;
}

export function subscriptionId(index: number): string {
  return `S-${String(index + 1).padStart(8, '0')}`;
}

function buildPartner(i: number, random: () => number, options: DatasetOptions): object {
  const place = places[Math.floor(random() * places.length)]!;
  const id = partnerId(i);
  const hasRecipient = random() >= (options.noRecipientShare ?? 0.02);
  const contactCount = 1 + Math.floor(random() * 3);
  const contacts = Array.from({ length: contactCount }, (_, c) => ({
    name: place.locale === 'zh-TW' ? `林美${c + 1}` : `Contact ${c + 1}`,
    email: `c${c + 1}@${id.toLowerCase()}.example`,
    // The first contact holds a purchasing role unless this partner has none (R10).
    role: hasRecipient && (c === 0 || random() < 0.5) ? purchasingRoles[Math.floor(random() * purchasingRoles.length)]! : 'other',
  }));
  const isInvalidAddress = random() < (options.invalidAddressShare ?? 0);
  const billTo: Record<string, string> = { line1: `${1 + (i % 400)} Example Rd`, city: place.city, country: isInvalidAddress ? 'US' : place.country };
  if ('region' in place) billTo.region = place.region;
  if ('postalCode' in place && !isInvalidAddress) billTo.postalCode = place.postalCode;
  return {
    id,
    name: place.locale === 'zh-TW' ? `夥伴 ${i + 1} 有限公司` : `Partner ${i + 1} <Ltd> & Co`,
    locale: place.locale,
    migratedToPartnerCenter: random() < 0.8,
    billTo,
    contacts,
  };
}

function pickPayment(random: () => number, partner: string, shares: NonNullable<DatasetOptions['payments']>): object | undefined {
  let r = random();
  if ((r -= shares.visa) < 0) return { method: 'credit_card', token: 'tok_visa' };
  if ((r -= shares.declined) < 0) return { method: 'credit_card', token: 'tok_chargeDeclined' };
  if ((r -= shares.expired) < 0) return { method: 'credit_card', token: 'tok_expiredCard' };
  if ((r -= shares.bankTransfer) < 0) {
    return { method: 'bank_transfer', contactName: 'Accounts Payable', phone: '+886 2 5555 0100', email: `ap@${partner.toLowerCase()}.example` };
  }
  return undefined;
}

function buildSubscription(i: number, random: () => number, options: DatasetOptions): object {
  const partner = partnerId(Math.floor(i / (options.perPartner ?? 4)));
  const kind = random();
  const autoRenewShare = options.autoRenewShare ?? 0.2;
  const isAutoRenew = kind < autoRenewShare;
  const isActionPack = isAutoRenew || random() < (options.manualActionPackShare ?? 0.25);
  const anniversary = options.anniversaryOf(random(), isAutoRenew);
  // Half were bought years ago and renewed since; the rest a year before their anniversary (R1).
  const purchasedOn = random() < 0.5 ? addYears(anniversary, -(2 + Math.floor(random() * 4))) : addDays(anniversary, -365);
  const subscription: Record<string, unknown> = {
    id: subscriptionId(i),
    partnerId: partner,
    offer: isActionPack ? 'action_pack' : 'competency',
    purchasedOn,
    anniversaryOn: anniversary,
  };
  if (isActionPack) {
    subscription.autoRenew = isAutoRenew;
    const payment = isAutoRenew
      ? pickPayment(random, partner, options.payments ?? { visa: 1, declined: 0, expired: 0, bankTransfer: 0, none: 0 })
      : { method: 'credit_card', token: 'tok_visa' };
    if (payment) subscription.payment = payment;
  } else {
    subscription.competency = { area: areas[Math.floor(random() * areas.length)]!, level: random() < 0.7 ? 'silver' : 'gold' };
    subscription.requirementsMet = random() < 0.85;
  }
  return subscription;
}

/** Buffers writes and waits for 'drain': the file is streamed to disk, never held whole. */
export function createBufferedWriter(stream: WriteStream) {
  let buffer = '';
  return {
    async write(text: string): Promise<void> {
      buffer += text;
      if (buffer.length < 1 << 16) return;
      const chunk = buffer;
      buffer = '';
      if (!stream.write(chunk)) await new Promise<void>((resolve) => stream.once('drain', resolve));
    },
    async close(): Promise<void> {
      stream.write(buffer);
      buffer = '';
      await new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
    },
  };
}

/** Writes SPEC §2 JSON (partners, then subscriptions, one record per line) for `importFile`. */
export async function writeDatasetFile(file: string, options: DatasetOptions): Promise<{ partners: number; subscriptions: number }> {
  const perPartner = options.perPartner ?? 4;
  const partners = Math.ceil(options.subscriptions / perPartner);
  const out = createBufferedWriter(createWriteStream(file));
  const partnerRandom = createRandom(options.seed ?? 1);
  const subscriptionRandom = createRandom((options.seed ?? 1) + 1000);
  await out.write('{\n"partners": [\n');
  for (let i = 0; i < partners; i++) await out.write(`${i === 0 ? '' : ',\n'}${JSON.stringify(buildPartner(i, partnerRandom, options))}`);
  await out.write('\n],\n"subscriptions": [\n');
  for (let i = 0; i < options.subscriptions; i++) {
    await out.write(`${i === 0 ? '' : ',\n'}${JSON.stringify(buildSubscription(i, subscriptionRandom, options))}`);
  }
  await out.write('\n]\n}\n');
  await out.close();
  return { partners, subscriptions: options.subscriptions };
}
