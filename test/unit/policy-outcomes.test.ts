import { describe, expect, it } from 'vitest';
import {
  failedOutcome,
  formatOutcome,
  isActionOutcome,
  isFailedOutcome,
  isSkippedOutcome,
  parseOutcome,
  plainOutcomes,
  renewalFailureReasons,
  skippedOutcome,
  skipReasons,
  type ActionOutcome,
  type ParsedOutcome,
} from '../../src/policy/outcomes.js';

describe('action outcomes', () => {
  // What the jobs and the operator write today (src/store/schema.ts: actions.outcome).
  const cases: { text: string; parsed: ParsedOutcome }[] = [
    { text: 'sending', parsed: { kind: 'sending' } },
    { text: 'sent', parsed: { kind: 'sent' } },
    { text: 'undeliverable', parsed: { kind: 'undeliverable' } },
    { text: 'renewed', parsed: { kind: 'renewed' } },
    { text: 'reactivated', parsed: { kind: 'reactivated' } },
    { text: 'pending-payment', parsed: { kind: 'pending-payment' } },
    { text: 'lapsed', parsed: { kind: 'lapsed' } },
    { text: 'failed:declined', parsed: { kind: 'failed', reason: 'declined' } },
    { text: 'failed:no-payment-method', parsed: { kind: 'failed', reason: 'no-payment-method' } },
    { text: 'skipped:missed', parsed: { kind: 'skipped', reason: 'missed' } },
    { text: 'skipped:window-passed', parsed: { kind: 'skipped', reason: 'window-passed' } },
    { text: 'skipped:cancelled', parsed: { kind: 'skipped', reason: 'cancelled' } },
  ];
  it.each(cases)('$text parses and formats back', ({ text, parsed }) => {
    expect(parseOutcome(text)).toEqual(parsed);
    expect(formatOutcome(parsed)).toBe(text);
    expect(isActionOutcome(text)).toBe(true);
  });

  it.each(['', 'failed', 'failed:', 'failed:stolen-card', 'skipped:', 'skipped:bored', 'Sent', 'sent:x', 'renewed ', 'done:missed'])(
    '"%s" is not an outcome',
    (text) => {
      expect(parseOutcome(text)).toBeNull();
      expect(isActionOutcome(text)).toBe(false);
    },
  );

  it('every outcome of the union round-trips, and the three families do not overlap', () => {
    const all: ActionOutcome[] = [...plainOutcomes, ...renewalFailureReasons.map(failedOutcome), ...skipReasons.map(skippedOutcome)];
    expect(new Set(all).size).toBe(all.length);
    for (const text of all) expect(formatOutcome(parseOutcome(text)!)).toBe(text);
    expect(all.filter(isFailedOutcome)).toHaveLength(renewalFailureReasons.length);
    expect(all.filter(isSkippedOutcome)).toHaveLength(skipReasons.length);
  });

  it('builds the prefixed ones', () => {
    expect(failedOutcome('expired-card')).toBe('failed:expired-card');
    expect(skippedOutcome('not-yet-due')).toBe('skipped:not-yet-due');
  });
});
