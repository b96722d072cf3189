/**
 * What an action did, as written in the ledger's `actions.outcome` and returned by its job: one
 * typed union, so a new outcome is added here and every reader (metrics, `show`, the replay) is
 * checked by the compiler, never matched by a string literal of its own.
 */

/** Why an automatic renewal failed (R7: the gateway's answer; R13: checked before charging). */
export const renewalFailureReasons = ['declined', 'expired-card', 'invalid-address', 'no-payment-method', 'gateway-error'] as const;
export type RenewalFailureReason = (typeof renewalFailureReasons)[number];

/**
 * Why an action did nothing. `missed` and `window-passed` are recorded in the ledger (SPEC §1: an
 * action whose range ended unrun is never taken late); the others are only a job's return value.
 */
export const skipReasons = [
  /** A scan found the action's range over without a job having run it. */
  'missed',
  /** Its job ran after the action's last day. */
  'window-passed',
  /** The job's subscription or partner is gone (deleted by an import). */
  'unknown-subscription',
  'unknown-partner',
  /** The subscription moved on to a new anniversary before the job ran. */
  'renewed',
  /** The subscription is no longer active (`skipped:${status}`). */
  'lapsed',
  'cancelled',
  /** Another run recorded it first, or its range has not started yet. */
  'already-done',
  'not-yet-due',
] as const;
export type SkipReason = (typeof skipReasons)[number];

/** The outcomes that are neither a failure nor a skip. */
export const plainOutcomes = [
  /** A reminder in the outbox, its delivery not yet acknowledged: becomes `sent`. */
  'sending',
  'sent',
  /** R10: no contact may receive it. */
  'undeliverable',
  'renewed',
  'reactivated',
  /** R7: a bank transfer or manual-gateway invoice waits for its payment. */
  'pending-payment',
  'lapsed',
] as const;
export type PlainOutcome = (typeof plainOutcomes)[number];

export type FailedOutcome = `failed:${RenewalFailureReason}`;
export type SkippedOutcome = `skipped:${SkipReason}`;
export type ActionOutcome = PlainOutcome | FailedOutcome | SkippedOutcome;

/** An outcome taken apart: what `parseOutcome` returns and `formatOutcome` writes. */
export type ParsedOutcome =
  | { kind: PlainOutcome }
  | { kind: 'failed'; reason: RenewalFailureReason }
  | { kind: 'skipped'; reason: SkipReason };

const plainSet: ReadonlySet<string> = new Set(plainOutcomes);
const failureSet: ReadonlySet<string> = new Set(renewalFailureReasons);
const skipSet: ReadonlySet<string> = new Set(skipReasons);

/** `failed:declined`. */
export function failedOutcome(reason: RenewalFailureReason): FailedOutcome {
  return `failed:${reason}`;
}

/** `skipped:missed`. */
export function skippedOutcome(reason: SkipReason): SkippedOutcome {
  return `skipped:${reason}`;
}

export function formatOutcome(outcome: ParsedOutcome): ActionOutcome {
  if (outcome.kind === 'failed') return failedOutcome(outcome.reason);
  if (outcome.kind === 'skipped') return skippedOutcome(outcome.reason);
  return outcome.kind;
}

/** The outcome in `text` (a ledger row), or null when it is none this version writes. */
export function parseOutcome(text: string): ParsedOutcome | null {
  if (plainSet.has(text)) return { kind: text as PlainOutcome };
  const colon = text.indexOf(':');
  if (colon < 0) return null;
  const head = text.slice(0, colon);
  const reason = text.slice(colon + 1);
  if (head === 'failed' && failureSet.has(reason)) return { kind: 'failed', reason: reason as RenewalFailureReason };
  if (head === 'skipped' && skipSet.has(reason)) return { kind: 'skipped', reason: reason as SkipReason };
  return null;
}

export function isActionOutcome(text: string): text is ActionOutcome {
  return parseOutcome(text) !== null;
}

export function isFailedOutcome(text: string): text is FailedOutcome {
  return parseOutcome(text)?.kind === 'failed';
}

export function isSkippedOutcome(text: string): text is SkippedOutcome {
  return parseOutcome(text)?.kind === 'skipped';
}
