import { addDays, type IsoDate } from './dates.js';
import { manualRenewalDays } from './cycle.js';
import type { Offer, Partner, Subscription } from './types.js';

/** A time-boxed policy exception (R14), kept as data so the next one is a new entry, not new code. */
export interface ExceptionRule {
  id: string;
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
  offer: 'competency',
  anniversaryFrom: '2020-01-01',
  anniversaryTo: '2020-06-30',
  requiresMigration: true,
  waivesRequirements: true,
  reactivationUntil: '2020-06-30',
};

export const exceptionRules: readonly ExceptionRule[] = [covid19Exception];

export interface AppliedException {
  id: string;
  /** False for a partner not moved yet: not eligible, but its notices may say moving makes it eligible. */
  isEligible: boolean;
  requirementsWaivedUntil: IsoDate | null;
  reactivationDeadline: IsoDate | null;
}

/** The exceptions that concern this subscription's current cycle, eligible or not. */
export function findExceptions(
  subscription: Subscription,
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
