import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validatePartner, validateSubscription, type FieldLabel } from '../../src/import/validate.js';
import { buildActionJobId, buildDeliverJobId } from '../../src/jobs/queues.js';
import { buildMessageId, buildOutboxFileName } from '../../src/mail/headers.js';
import { noticeKinds } from '../../src/mail/types.js';
import { formatInvoiceText, type InvoiceDocument } from '../../src/ops/invoice-document.js';
import { checkId, escapeControls, idMaxLength, idPattern, maxContacts, textLimits } from '../../src/policy/limits.js';
import { lifecycleActions } from '../../src/policy/types.js';

const partnerLabel: FieldLabel = (field) => `partners[0]${field ? `.${field}` : ''}`;
const subscriptionLabel: FieldLabel = (field) => `subscriptions[0]${field ? `.${field}` : ''}`;

function basePartner(): Record<string, any> {
  return {
    id: 'P-1',
    name: 'Contoso',
    billTo: { line1: '1 Rd', line2: 'Floor 2', city: 'Taipei', region: 'TPE', postalCode: '100', country: 'TW' },
    contacts: [{ name: 'Mei', email: 'mei@contoso.example', role: 'global_admin' }],
  };
}

function baseSubscription(payment: Record<string, unknown>): Record<string, any> {
  return { id: 'S-1', partnerId: 'P-1', offer: 'competency', competency: { area: 'Cloud', level: 'gold' }, purchasedOn: '2018-09-01', payment: { ...payment } };
}

const card = { method: 'credit_card', token: 'tok' };
const bank = { method: 'bank_transfer', contactName: 'AP', phone: '+1 555', email: 'ap@example.com' };

/** Sets `record.a.b` (or `record.contacts[0].name`) to `value`. */
function setPath(record: Record<string, any>, field: string, value: unknown): void {
  const keys = field.replace(/\[(\d+)\]/g, '.$1').split('.');
  let target = record;
  for (const key of keys.slice(0, -1)) target = target[key];
  target[keys.at(-1)!] = value;
}

/** An email address of exactly `length` characters. */
const emailOf = (length: number) => `${'a'.repeat(length - 'b@example.com'.length + 1)}b@example.com`.slice(-length).replace(/^a*/, (m) => 'x'.repeat(m.length));

const partnerFields: [field: string, max: number, value: (n: number) => string][] = [
  ['name', textLimits.name, (n) => 'N'.repeat(n)],
  ['billTo.line1', textLimits.addressLine, (n) => 'L'.repeat(n)],
  ['billTo.line2', textLimits.addressLine, (n) => 'L'.repeat(n)],
  ['billTo.city', textLimits.city, (n) => 'C'.repeat(n)],
  ['billTo.region', textLimits.region, (n) => 'R'.repeat(n)],
  ['billTo.postalCode', textLimits.postalCode, (n) => '9'.repeat(n)],
  ['billTo.country', textLimits.country, (n) => 'T'.repeat(n)],
  ['contacts[0].name', textLimits.name, (n) => '名'.repeat(n)],
  ['contacts[0].email', textLimits.email, emailOf],
  ['id', idMaxLength, (n) => 'P'.repeat(n)],
];
const subscriptionFields: [field: string, max: number, value: (n: number) => string, payment: Record<string, unknown>][] = [
  ['id', idMaxLength, (n) => 'S'.repeat(n), card],
  ['partnerId', idMaxLength, (n) => 'P'.repeat(n), card],
  ['competency.area', textLimits.competencyArea, (n) => 'A'.repeat(n), card],
  ['payment.token', textLimits.paymentToken, (n) => 't'.repeat(n), card],
  ['payment.contactName', textLimits.name, (n) => 'n'.repeat(n), bank],
  ['payment.phone', textLimits.phone, (n) => '5'.repeat(n), bank],
  ['payment.email', textLimits.email, emailOf, bank],
];

describe('import limits: each field at its limit and one past it', () => {
  it('builds emails of the exact length asked', () => {
    expect(emailOf(254)).toHaveLength(254);
    expect(emailOf(255)).toHaveLength(255);
  });

  it.each(partnerFields)('partners[0].%s: %i characters', (field, max, value) => {
    const atLimit = basePartner();
    setPath(atLimit, field, value(max));
    expect(validatePartner(atLimit, partnerLabel).problems).toEqual([]);
    const past = basePartner();
    setPath(past, field, value(max + 1));
    expect(validatePartner(past, partnerLabel).problems).toEqual([`partners[0].${field}: ${max + 1} characters, at most ${max}`]);
  });

  it.each(subscriptionFields)('subscriptions[0].%s: %i characters', (field, max, value, payment) => {
    const atLimit = baseSubscription(payment);
    setPath(atLimit, field, value(max));
    expect(validateSubscription(atLimit, subscriptionLabel).problems).toEqual([]);
    const past = baseSubscription(payment);
    setPath(past, field, value(max + 1));
    expect(validateSubscription(past, subscriptionLabel).problems).toEqual([`subscriptions[0].${field}: ${max + 1} characters, at most ${max}`]);
  });

  it('says how long a 50 MiB name is, with thousands separators, without quoting it', () => {
    const partner = { ...basePartner(), name: 'x'.repeat(50 * 1024 * 1024) };
    expect(validatePartner(partner, partnerLabel).problems).toEqual(['partners[0].name: 52,428,800 characters, at most 200']);
  });

  it(`takes ${maxContacts} contacts and refuses ${maxContacts + 1}`, () => {
    const contact = { name: 'Mei', email: 'mei@contoso.example', role: 'global_admin' };
    expect(validatePartner({ ...basePartner(), contacts: Array(maxContacts).fill(contact) }, partnerLabel).problems).toEqual([]);
    expect(validatePartner({ ...basePartner(), contacts: Array(maxContacts + 1).fill(contact) }, partnerLabel).problems).toEqual([
      `partners[0].contacts: ${maxContacts + 1} contacts, at most ${maxContacts}`,
    ]);
  });

  it('quotes at most 40 characters of a long invalid value', () => {
    const problems = validateSubscription({ ...baseSubscription(card), offer: 'p'.repeat(10_000) }, subscriptionLabel).problems;
    expect(problems).toEqual([`subscriptions[0].offer: "${'p'.repeat(40)}…" is not one of action_pack, competency`]);
  });
});

describe('import: one line of text per field, ids of A-Z a-z 0-9 . _ -', () => {
  it('refuses a JSON contact name with CR/LF, as the CSV contacts cell does', () => {
    const partner = basePartner();
    partner.contacts[0].name = 'Mei\r\nBcc: all@example.com';
    expect(validatePartner(partner, partnerLabel).problems).toEqual([
      'partners[0].contacts[0].name: control character U+000D at character 4 (one line of text expected)',
    ]);
  });

  it.each([
    ['name', 'Evil\u001b[2J'],
    ['billTo.line1', 'Tab\there'],
    ['billTo.city', 'C1\u009bcontrol'],
    ['contacts[0].email', 'mei\u0000@contoso.example'],
  ])('refuses a control character in partners[0].%s', (field, value) => {
    const partner = basePartner();
    setPath(partner, field, value);
    const [problem, ...rest] = validatePartner(partner, partnerLabel).problems;
    expect(rest).toEqual([]);
    expect(problem).toMatch(new RegExp(`^partners\\[0\\]\\.${field.replace(/[.[\]]/g, '\\$&')}: control character U\\+00[0-9A-F]{2} at character \\d+`));
  });

  it.each([
    ['a slash', 'S/1', '"/" at character 2'],
    ['a colon', 'S:1', '":" at character 2'],
    ['a space', 'S 1', '" " at character 2'],
    ['a right-to-left override', 'S\u202e1-txt', 'U+202E at character 2'],
    ['a left-to-right isolate', 'S\u20661', 'U+2066 at character 2'],
    ['an emoji', 'S😀', 'U+D83D at character 2'],
    ['a leading dot', '..', '"." at character 1'],
    ['a leading hyphen', '-x', '"-" at character 1'],
    ['an ESC', 'S\u001b[31m', 'U+001B at character 2'],
  ])('refuses an id with %s', (_name, id, where) => {
    expect(checkId(id)).toContain(`is not a valid id: ${where} (ids are 1-64 characters of A-Z a-z 0-9 . _ -, the first a letter or a digit)`);
    expect(new RegExp(idPattern, 'u').test(id)).toBe(false);
  });

  it('agrees with the API pattern on ids at and past the limit', () => {
    for (const id of ['S', 'S-1.a_b', `A${'.'.repeat(idMaxLength - 1)}`, `9${'_'.repeat(idMaxLength - 1)}`]) {
      expect(checkId(id)).toBeNull();
      expect(new RegExp(idPattern, 'u').test(id)).toBe(true);
    }
    const tooLong = `A${'.'.repeat(idMaxLength)}`;
    expect(checkId(tooLong)).toBe(`${idMaxLength + 1} characters, at most ${idMaxLength}`);
    expect(new RegExp(idPattern, 'u').test(tooLong)).toBe(false);
  });
});

describe('every consumer of an id takes the widest id of the maximum length', () => {
  // "." is the widest accepted character: encoded `=2E` in file names and Message-IDs.
  const widest = `A${'.'.repeat(idMaxLength - 1)}`;
  const anniversary = '2019-09-01';
  const identities = noticeKinds.flatMap((kind) => [false, true].map((isReactivation) => ({ kind, subscriptionId: widest, anniversary, isReactivation })));

  it('makes outbox file names of at most 255 bytes that the file system accepts', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'outbox-names-'));
    try {
      const names = identities.map(buildOutboxFileName);
      for (const name of names) {
        expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
        writeFileSync(path.join(dir, name), 'x');
      }
      expect(readdirSync(dir).sort()).toEqual([...new Set(names)].sort());
      expect(Math.max(...names.map((n) => n.length))).toBeGreaterThan(200); // the test is at the edge, not far from it
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('makes Message-IDs whose local part is a dot-atom and whose header line stays under 998 characters', () => {
    const atext = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
    for (const identity of identities) {
      const messageId = buildMessageId(identity, 'lifecycle.example.com');
      const local = messageId.slice(1, messageId.indexOf('@'));
      expect(local).toMatch(new RegExp(`^${atext}(\\.${atext})*$`));
      expect(`Message-ID: ${messageId}`.length).toBeLessThan(998);
    }
  });

  it('makes BullMQ job ids without ":"', () => {
    for (const action of lifecycleActions) expect(buildActionJobId(action, widest, anniversary)).not.toContain(':');
    for (const identity of identities) expect(buildDeliverJobId(buildMessageId(identity, 'lifecycle.example.com'))).not.toContain(':');
  });
});

describe('terminal and document safety', () => {
  it('escapes C0, C1, DEL and bidirectional controls visibly, and leaves other text as it is', () => {
    expect(escapeControls('Evil\u001b[2J\u001b]0;pwn\u0007')).toBe('Evil\\x1b[2J\\x1b]0;pwn\\x07');
    expect(escapeControls('a\r\nb\u009b\u007f')).toBe('a\\x0d\\x0ab\\x9b\\x7f');
    expect(escapeControls('txt\u202eexe.\u2066')).toBe('txt\\u202eexe.\\u2066');
    expect(escapeControls('a\nb', true)).toBe('a\nb');
    const plain = 'Contoso 有限公司 — Ünïcödé';
    expect(escapeControls(plain)).toBe(plain);
  });

  it('keeps a partner name with CR/LF on its own line of the invoice text: no forged Bcc: or Amount: line', () => {
    const invoice: InvoiceDocument = {
      number: 'INV-2019-000001',
      status: 'paid',
      purpose: 'renewal',
      subscription: 'S-1',
      offer: 'action_pack',
      offerName: 'Action Pack',
      cycle: '2019-09-01',
      renewsTo: '2020-09-01',
      amountMinor: 47500,
      amount: '475.00',
      currency: 'USD',
      method: 'credit_card',
      issuedOn: '2019-09-01',
      paidOn: '2019-09-01',
      failureReason: null,
      gatewayRef: 'ch_1',
      partner: {
        id: 'P-1',
        name: 'Evil Ltd\r\nBcc: thief@example.com\r\nAmount:       0.01 USD',
        billTo: { line1: '1 Rd\nAmount: 0.02', city: 'Taipei', country: 'TW' },
      },
    };
    const lines = formatInvoiceText(invoice).split('\n');
    expect(lines.filter((line) => line.startsWith('Amount:'))).toEqual(['Amount:       475.00 USD']);
    expect(lines.some((line) => line.startsWith('Bcc:'))).toBe(false);
    expect(lines).toContain('Bill to:      Evil Ltd\\x0d\\x0aBcc: thief@example.com\\x0d\\x0aAmount:       0.01 USD (P-1)');
    expect(formatInvoiceText(invoice)).not.toMatch(/\r/);
  });
});
