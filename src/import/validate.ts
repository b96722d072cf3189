import { isIsoDate } from '../policy/dates.js';
import { findFirstAnniversary } from '../policy/cycle.js';
import {
  competencyLevels,
  locales,
  offers,
  roles,
  type BillTo,
  type CompetencyLevel,
  type Contact,
  type Locale,
  type Offer,
  type Partner,
  type Payment,
  type Role,
} from '../policy/types.js';
import { checkId, checkLine, formatCount, maxContacts, quoteValue, textLimits, type TextKind } from '../policy/limits.js';

/** Names a field for an error line: `subscriptions[3].purchasedOn` in JSON, `line 7, purchased_on` in CSV. */
export type FieldLabel = (field: string) => string;

export interface ImportedSubscription {
  id: string;
  partnerId: string;
  offer: Offer;
  competency: { area: string; level: CompetencyLevel } | null;
  purchasedOn: string;
  /** As given, or derived by R1. */
  anniversaryOn: string;
  isAutoRenew: boolean;
  isRequirementsMet: boolean;
  payment: Payment | null;
}

const emailPattern = /^[^\s@<>(),;:"[\]\\]+@[^\s@<>(),;:"[\]\\.]+(\.[^\s@<>(),;:"[\]\\.]+)+$/;

export function isEmail(value: string): boolean {
  return checkLine(value, textLimits.email) === null && emailPattern.test(value);
}

/** Collects problems while reading fields of one record. */
class FieldReader {
  readonly problems: string[] = [];
  constructor(
    private readonly record: Record<string, unknown>,
    private readonly label: FieldLabel,
    private readonly prefix = '',
  ) {}

  private name(field: string): string {
    return this.label(this.prefix + field);
  }

  problem(field: string, message: string): void {
    this.problems.push(`${this.name(field)}: ${message}`);
  }

  has(field: string): boolean {
    return this.record[field] !== undefined && this.record[field] !== null;
  }

  rejectUnknown(known: readonly string[]): void {
    for (const key of Object.keys(this.record)) {
      if (!known.includes(key)) {
        const near = known.find((k) => k.toLowerCase() === key.toLowerCase());
        // The key is the file's text: named in full only when short and printable.
        const name = quoteValue(key) === `"${key}"` ? key : quoteValue(key);
        this.problem(name, `unknown field${near ? ` (did you mean ${near}?)` : ''}`);
      }
    }
  }

  /** The value as given, when a string; unbounded: for values checked against a fixed list or form. */
  raw(field: string, isOptional: boolean): string | undefined {
    const value = this.record[field];
    if (value === undefined || value === null || value === '') {
      if (!isOptional) this.problem(field, 'is required');
      return undefined;
    }
    if (typeof value !== 'string') {
      this.problem(field, `expected a string, got ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  /** One line of text within the limit of its kind (README "Input limits"). */
  string(field: string, kind: TextKind, options: { optional?: boolean } = {}): string | undefined {
    const value = this.raw(field, options.optional === true);
    if (value === undefined) return undefined;
    const problem = checkLine(value, textLimits[kind]);
    if (problem !== null) {
      this.problem(field, problem);
      return undefined;
    }
    return value;
  }

  id(field: string): string | undefined {
    const value = this.raw(field, false);
    const problem = value === undefined ? null : checkId(value);
    if (problem !== null) {
      this.problem(field, problem);
      return undefined;
    }
    return value;
  }

  boolean(field: string, fallback: boolean): boolean {
    const value = this.record[field];
    if (value === undefined || value === null || value === '') return fallback;
    if (typeof value !== 'boolean') {
      this.problem(field, `expected true or false, got ${describe(value)}`);
      return fallback;
    }
    return value;
  }

  date(field: string, options: { optional?: boolean } = {}): string | undefined {
    const value = this.raw(field, options.optional === true);
    if (value !== undefined && !isIsoDate(value)) {
      this.problem(field, `${quoteValue(value)} is not a real calendar date (expected YYYY-MM-DD)`);
      return undefined;
    }
    return value;
  }

  oneOf<T extends string>(field: string, allowed: readonly T[]): T | undefined {
    const value = this.raw(field, false);
    if (value !== undefined && !allowed.includes(value as T)) {
      this.problem(field, `${quoteValue(value)} is not one of ${allowed.join(', ')}`);
      return undefined;
    }
    return value as T | undefined;
  }

  email(field: string): string | undefined {
    const value = this.string(field, 'email');
    if (value !== undefined && !emailPattern.test(value)) {
      this.problem(field, `${quoteValue(value)} is not a valid email address`);
      return undefined;
    }
    return value;
  }

  object(field: string, options: { optional?: boolean } = {}): Record<string, unknown> | undefined {
    const value = this.record[field];
    if (value === undefined || value === null) {
      if (!options.optional) this.problem(field, 'is required');
      return undefined;
    }
    if (!isPlainObject(value)) {
      this.problem(field, `expected an object, got ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  nested(field: string, value: Record<string, unknown>): FieldReader {
    return new FieldReader(value, this.label, `${this.prefix}${field}.`);
  }

  adopt(reader: FieldReader): void {
    this.problems.push(...reader.problems);
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return quoteValue(value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function readBillTo(reader: FieldReader): BillTo | null {
  const raw = reader.object('billTo', { optional: true });
  if (!raw) return null;
  const r = reader.nested('billTo', raw);
  r.rejectUnknown(['line1', 'line2', 'city', 'region', 'postalCode', 'country']);
  // Only the shape is checked here: R13 validates the address itself at each renewal.
  const billTo: BillTo = {
    line1: r.string('line1', 'addressLine', { optional: true }) ?? '',
    city: r.string('city', 'city', { optional: true }) ?? '',
    country: r.string('country', 'country', { optional: true }) ?? '',
  };
  const line2 = r.string('line2', 'addressLine', { optional: true });
  const region = r.string('region', 'region', { optional: true });
  const postalCode = r.string('postalCode', 'postalCode', { optional: true });
  if (line2) billTo.line2 = line2;
  if (region) billTo.region = region;
  if (postalCode) billTo.postalCode = postalCode;
  reader.adopt(r);
  return billTo;
}

function readContacts(reader: FieldReader, value: unknown): Contact[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    reader.problem('contacts', `expected an array, got ${describe(value)}`);
    return [];
  }
  if (value.length > maxContacts) {
    reader.problem('contacts', `${formatCount(value.length)} contacts, at most ${maxContacts}`);
    return [];
  }
  const contacts: Contact[] = [];
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (!isPlainObject(item)) {
      reader.problem(`contacts[${i}]`, `expected an object, got ${describe(item)}`);
      continue;
    }
    const r = reader.nested(`contacts[${i}]`, item);
    r.rejectUnknown(['name', 'email', 'role']);
    const name = r.string('name', 'name');
    const email = r.email('email');
    const role = r.oneOf<Role>('role', roles);
    reader.adopt(r);
    if (name !== undefined && email !== undefined && role !== undefined) contacts.push({ name, email, role });
  }
  return contacts;
}

/** `id` is the record's id when valid, even if other fields are not (for the duplicate check). */
export function validatePartner(raw: unknown, label: FieldLabel): { partner?: Partner; id?: string; problems: string[] } {
  if (!isPlainObject(raw)) return { problems: [`${label('')}: expected an object, got ${describe(raw)}`] };
  const r = new FieldReader(raw, label);
  r.rejectUnknown(['id', 'name', 'locale', 'migratedToPartnerCenter', 'billTo', 'contacts']);
  const id = r.id('id');
  const name = r.string('name', 'name');
  const localeValue = r.raw('locale', true);
  // SPEC §2: an unknown locale falls back to English rather than failing the import.
  const locale: Locale = locales.includes(localeValue as Locale) ? (localeValue as Locale) : 'en';
  const isMigratedToPartnerCenter = r.boolean('migratedToPartnerCenter', false);
  const billTo = readBillTo(r);
  const contacts = readContacts(r, raw.contacts);
  if (r.problems.length > 0 || id === undefined || name === undefined) return { id, problems: r.problems };
  return { partner: { id, name, locale, isMigratedToPartnerCenter, billTo, contacts }, id, problems: [] };
}

function readPayment(reader: FieldReader): Payment | null {
  const raw = reader.object('payment', { optional: true });
  if (!raw) return null;
  const r = reader.nested('payment', raw);
  const method = r.oneOf('method', ['credit_card', 'bank_transfer'] as const);
  let payment: Payment | null = null;
  if (method === 'credit_card') {
    r.rejectUnknown(['method', 'token']);
    const token = r.string('token', 'paymentToken');
    if (token !== undefined) payment = { method, token };
  } else if (method === 'bank_transfer') {
    r.rejectUnknown(['method', 'contactName', 'phone', 'email']);
    const contactName = r.string('contactName', 'name');
    const phone = r.string('phone', 'phone');
    const email = r.email('email');
    if (contactName !== undefined && phone !== undefined && email !== undefined) {
      payment = { method, contactName, phone, email };
    }
  }
  reader.adopt(r);
  return payment;
}

export interface ValidatedSubscription {
  /** Set when the record has no problems. */
  subscription?: ImportedSubscription;
  /** The record's id and partner id when each is valid, even if other fields are not: the duplicate and missing-partner checks still apply. */
  id?: string;
  partnerId?: string;
  problems: string[];
}

export function validateSubscription(raw: unknown, label: FieldLabel): ValidatedSubscription {
  if (!isPlainObject(raw)) return { problems: [`${label('')}: expected an object, got ${describe(raw)}`] };
  const r = new FieldReader(raw, label);
  r.rejectUnknown([
    'id',
    'partnerId',
    'offer',
    'competency',
    'purchasedOn',
    'anniversaryOn',
    'autoRenew',
    'requirementsMet',
    'payment',
  ]);
  const id = r.id('id');
  const partnerId = r.id('partnerId');
  const offer = r.oneOf<Offer>('offer', offers);
  let competency: ImportedSubscription['competency'] = null;
  if (offer === 'competency') {
    const rawCompetency = r.object('competency');
    if (rawCompetency) {
      const c = r.nested('competency', rawCompetency);
      c.rejectUnknown(['area', 'level']);
      const area = c.string('area', 'competencyArea');
      const level = c.oneOf<CompetencyLevel>('level', competencyLevels);
      r.adopt(c);
      if (area !== undefined && level !== undefined) competency = { area, level };
    }
  } else if (offer === 'action_pack' && r.has('competency')) {
    r.problem('competency', 'only a competency subscription has one (offer is action_pack)');
  }
  const purchasedOn = r.date('purchasedOn');
  const givenAnniversary = r.date('anniversaryOn', { optional: true });
  if (purchasedOn && givenAnniversary && givenAnniversary <= purchasedOn) {
    r.problem('anniversaryOn', `${givenAnniversary} is not after purchasedOn ${purchasedOn}`);
  }
  const isAutoRenew = r.boolean('autoRenew', false);
  if (isAutoRenew && offer === 'competency') r.problem('autoRenew', 'competencies do not auto-renew (R9)');
  const isRequirementsMet = r.boolean('requirementsMet', false);
  const payment = readPayment(r);
  if (r.problems.length > 0 || !id || !partnerId || !offer || !purchasedOn) return { id, partnerId, problems: r.problems };
  return {
    id,
    partnerId,
    subscription: {
      id,
      partnerId,
      offer,
      competency,
      purchasedOn,
      anniversaryOn: givenAnniversary ?? findFirstAnniversary(purchasedOn),
      isAutoRenew,
      isRequirementsMet,
      payment,
    },
    problems: [],
  };
}
