import { addDays, type IsoDate } from './dates.js';
import { manualRenewalDays } from './cycle.js';
import type { Locale, Offer, Partner, Subscription } from './types.js';

/** A time-boxed policy exception (R14), kept as data so the next one is a new entry, not new code. */
export interface ExceptionRule {
  /** Stored in notices and refusals, and the `waivedBy` of a grant: never reused for another exception. */
  id: string;
  /** What notices call it, in each locale: "the {name} allowed …". */
  name: Readonly<Record<Locale, string>>;
  offer: Offer;
  /** Applies to a cycle whose anniversary is in this range, inclusive. */
  anniversaryFrom: IsoDate;
  anniversaryTo: IsoDate;
  /** Only for partners whose membership moved from Partner Membership Center to Partner Center. */
  requiresMigration: boolean;
  /** Requirements are treated as met until the next anniversary. */
  waivesRequirements: boolean;
  /** A lapsed subscription can be reactivated by paying the fee until this day, inclusive. */
  reactivationUntil: IsoDate | null;
}

/** Seed 000, "Responding to COVID-19". */
export const covid19Exception: ExceptionRule = {
  id: 'covid-19-2020',
  name: { en: 'COVID-19 exception', 'zh-TW': '因應 COVID-19 的例外措施' },
  offer: 'competency',
  anniversaryFrom: '2020-01-01',
  anniversaryTo: '2020-06-30',
  requiresMigration: true,
  waivesRequirements: true,
  reactivationUntil: '2020-06-30',
};

/** Every exception, past and current: the next one is one more entry here, and nothing else changes. */
export const exceptionRules: readonly ExceptionRule[] = [covid19Exception];

/** The rule of that id, or undefined (an id stored by a version that had it). */
export function findExceptionRule(id: string, rules: readonly ExceptionRule[] = exceptionRules): ExceptionRule | undefined {
  return rules.find((rule) => rule.id === id);
}

/** What notices call exception `id` in `locale`; its id when the table no longer has it (a notice written by an older version). */
export function findExceptionName(id: string, locale: Locale, rules: readonly ExceptionRule[] = exceptionRules): string {
  const rule = findExceptionRule(id, rules);
  return rule ? rule.name[locale] : id;
}

export interface AppliedException {
  id: string;
  /** False for a partner not moved yet: not eligible, but its notices may say moving makes it eligible. */
  isEligible: boolean;
  requirementsWaivedUntil: IsoDate | null;
  reactivationDeadline: IsoDate | null;
}

/** The exceptions that concern this subscription's current cycle, eligible or not. */
export function findExceptions(
  subscription: Pick<Subscription, 'offer' | 'anniversaryOn'>,
  partner: Pick<Partner, 'isMigratedToPartnerCenter'>,
  rules: readonly ExceptionRule[] = exceptionRules,
): AppliedException[] {
  const a = subscription.anniversaryOn;
  return rules
    .filter((rule) => rule.offer === subscription.offer && a >= rule.anniversaryFrom && a <= rule.anniversaryTo)
    .map((rule) => ({
      id: rule.id,
      isEligible: !rule.requiresMigration || partner.isMigratedToPartnerCenter,
      requirementsWaivedUntil: rule.waivesRequirements ? addDays(a, manualRenewalDays) : null,
      reactivationDeadline: rule.reactivationUntil,
    }));
}
