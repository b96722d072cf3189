import { describe, expect, it } from 'vitest';
import { actionBits, findDueActions, findMissedActions, findNextDueOn, isDueOn } from '../../src/policy/due.js';
import type { LifecycleAction, Subscription } from '../../src/policy/types.js';
import { buildCompetency, buildSubscription } from './builders.js';

// Seed 000's subscription: anniversary A = 2019-09-01.
const autoRenewingPack = buildSubscription({ anniversaryOn: '2019-09-01', isAutoRenew: true });
const manualPack = buildSubscription({ anniversaryOn: '2019-09-01', isAutoRenew: false });
const competency = buildCompetency({ anniversaryOn: '2019-09-01' });

describe('actionBits (stored in subscriptions.done_mask)', () => {
  it('keeps the stored bit of each action', () => {
    expect(actionBits).toEqual({ 'remind-before': 1, 'auto-renew': 2, 'remind-after': 4, lapse: 8 });
  });
});

describe('findDueActions: the due table, first and last day of each range and the days around them', () => {
  const cases: { day: string; offset: string; autoRenewing: LifecycleAction[]; manual: LifecycleAction[] }[] = [
    { day: '2019-08-01', offset: 'A − 31', autoRenewing: [], manual: [] },
    { day: '2019-08-16', offset: 'A − 16', autoRenewing: [], manual: [] },
    { day: '2019-08-17', offset: 'A − 15', autoRenewing: ['remind-before'], manual: ['remind-before'] },
    { day: '2019-08-25', offset: 'A − 7', autoRenewing: ['remind-before'], manual: ['remind-before'] },
    { day: '2019-08-31', offset: 'A − 1', autoRenewing: ['remind-before'], manual: ['remind-before'] },
    { day: '2019-09-01', offset: 'A', autoRenewing: ['auto-renew'], manual: [] },
    { day: '2019-09-02', offset: 'A + 1', autoRenewing: ['auto-renew'], manual: [] },
    { day: '2019-09-23', offset: 'A + 22', autoRenewing: ['auto-renew'], manual: [] },
    { day: '2019-09-24', offset: 'A + 23', autoRenewing: ['auto-renew', 'remind-after'], manual: ['remind-after'] },
    { day: '2019-10-01', offset: 'A + 30', autoRenewing: ['auto-renew', 'remind-after'], manual: ['remind-after'] },
    { day: '2019-10-02', offset: 'A + 31', autoRenewing: ['lapse'], manual: ['lapse'] },
    { day: '2019-10-03', offset: 'A + 32', autoRenewing: ['lapse'], manual: ['lapse'] },
    { day: '2021-09-01', offset: 'A + 2 years', autoRenewing: ['lapse'], manual: ['lapse'] },
  ];

  it.each(cases)('$day ($offset): auto-renewing Action Pack → $autoRenewing', ({ day, autoRenewing }) => {
    expect(findDueActions(autoRenewingPack, day)).toEqual(autoRenewing);
  });

  it.each(cases)('$day ($offset): Action Pack without auto-renew → $manual', ({ day, manual }) => {
    expect(findDueActions(manualPack, day)).toEqual(manual);
  });

  it.each(cases)('$day ($offset): competency (R9: never auto-renews) → $manual', ({ day, manual }) => {
    expect(findDueActions(competency, day)).toEqual(manual);
  });

  it('does not auto-renew a competency even if its auto-renew flag is on (R9)', () => {
    const flagged = buildCompetency({ anniversaryOn: '2019-09-01', isAutoRenew: true });
    expect(findDueActions(flagged, '2019-09-01')).toEqual([]);
  });
});

describe('findDueActions: year ends', () => {
  const decemberPack = buildSubscription({ anniversaryOn: '2019-12-31', isAutoRenew: true });
  const januaryPack = buildSubscription({ anniversaryOn: '2020-01-05', isAutoRenew: true });
  it.each([
    { name: 'A = 2019-12-31, A − 16', subscription: decemberPack, day: '2019-12-15', expected: [] },
    { name: 'A = 2019-12-31, A − 15', subscription: decemberPack, day: '2019-12-16', expected: ['remind-before'] },
    { name: 'A = 2019-12-31, A − 1', subscription: decemberPack, day: '2019-12-30', expected: ['remind-before'] },
    { name: 'A = 2019-12-31, A', subscription: decemberPack, day: '2019-12-31', expected: ['auto-renew'] },
    { name: 'A = 2019-12-31, A + 1 in the new year', subscription: decemberPack, day: '2020-01-01', expected: ['auto-renew'] },
    { name: 'A = 2019-12-31, A + 22', subscription: decemberPack, day: '2020-01-22', expected: ['auto-renew'] },
    { name: 'A = 2019-12-31, A + 23', subscription: decemberPack, day: '2020-01-23', expected: ['auto-renew', 'remind-after'] },
    { name: 'A = 2019-12-31, A + 30', subscription: decemberPack, day: '2020-01-30', expected: ['auto-renew', 'remind-after'] },
    { name: 'A = 2019-12-31, A + 31', subscription: decemberPack, day: '2020-01-31', expected: ['lapse'] },
    { name: 'A = 2020-01-05, A − 16 in the previous year', subscription: januaryPack, day: '2019-12-20', expected: [] },
    { name: 'A = 2020-01-05, A − 15 in the previous year', subscription: januaryPack, day: '2019-12-21', expected: ['remind-before'] },
    { name: 'A = 2020-01-05, Dec 31', subscription: januaryPack, day: '2019-12-31', expected: ['remind-before'] },
    { name: 'A = 2020-01-05, A − 1', subscription: januaryPack, day: '2020-01-04', expected: ['remind-before'] },
    { name: 'A = 2020-01-05, A', subscription: januaryPack, day: '2020-01-05', expected: ['auto-renew'] },
  ] satisfies { name: string; subscription: Subscription; day: string; expected: LifecycleAction[] }[])(
    '$name ($day) → $expected',
    ({ subscription, day, expected }) => {
      expect(findDueActions(subscription, day)).toEqual(expected);
    },
  );

  it.each([
    { name: 'A + 23 counts Feb 29', day: '2020-03-09', expected: ['remind-after'] },
    { name: 'A + 22 counts Feb 29', day: '2020-03-08', expected: [] },
    { name: 'A + 31 counts Feb 29', day: '2020-03-17', expected: ['lapse'] },
    { name: 'A + 30 counts Feb 29', day: '2020-03-16', expected: ['remind-after'] },
  ])('A = 2020-02-15: $name ($day) → $expected', ({ day, expected }) => {
    expect(findDueActions(buildSubscription({ anniversaryOn: '2020-02-15' }), day)).toEqual(expected);
  });
});

describe('findDueActions: done actions and ended subscriptions', () => {
  it.each([
    { name: 'remind-before done', doneMask: actionBits['remind-before'], day: '2019-08-17', expected: [] },
    { name: 'remind-before done, on A', doneMask: actionBits['remind-before'], day: '2019-09-01', expected: ['auto-renew'] },
    { name: 'auto-renew done (failed or pending)', doneMask: actionBits['auto-renew'], day: '2019-09-24', expected: ['remind-after'] },
    { name: 'remind-after done', doneMask: actionBits['remind-after'], day: '2019-09-24', expected: ['auto-renew'] },
    { name: 'auto-renew and remind-after done', doneMask: actionBits['auto-renew'] | actionBits['remind-after'], day: '2019-10-01', expected: [] },
    { name: 'lapse done', doneMask: actionBits.lapse, day: '2019-10-02', expected: [] },
    { name: 'everything but lapse done', doneMask: 7, day: '2019-10-02', expected: ['lapse'] },
  ] satisfies { name: string; doneMask: number; day: string; expected: LifecycleAction[] }[])(
    '$name ($day) → $expected',
    ({ doneMask, day, expected }) => {
      expect(findDueActions({ ...autoRenewingPack, doneMask }, day)).toEqual(expected);
    },
  );

  const lapsed = buildSubscription({ isAutoRenew: true, status: 'lapsed', lapsedOn: '2019-10-02' });
  const cancelled = buildSubscription({ isAutoRenew: true, status: 'cancelled', cancelledOn: '2019-08-10' });
  it.each([
    { name: 'lapsed, on A + 31', subscription: lapsed, day: '2019-10-02' },
    { name: 'lapsed, a year on', subscription: lapsed, day: '2020-08-17' },
    { name: 'cancelled, on A − 15', subscription: cancelled, day: '2019-08-17' },
    { name: 'cancelled, on A (no auto-renew, R11)', subscription: cancelled, day: '2019-09-01' },
    { name: 'cancelled, on A + 23', subscription: cancelled, day: '2019-09-24' },
    { name: 'cancelled, on A + 31 (no lapse either)', subscription: cancelled, day: '2019-10-02' },
  ])('$name → nothing', ({ subscription, day }) => {
    expect(findDueActions(subscription, day)).toEqual([]);
    expect(findMissedActions(subscription, day)).toEqual([]);
  });

  it('keeps reminding and lapsing while a bank-transfer renewal waits for payment (R7: R3–R5 run meanwhile)', () => {
    const pending = { ...autoRenewingPack, doneMask: actionBits['remind-before'] | actionBits['auto-renew'], pendingInvoice: 'INV-1' };
    expect(findDueActions(pending, '2019-09-24')).toEqual(['remind-after']);
    expect(findDueActions(pending, '2019-10-02')).toEqual(['lapse']);
  });

  it('does not auto-renew what an operator\'s renewal already invoiced (R7: one invoice per cycle), before or after its range', () => {
    // Down on A: the operator renewed on A + 1 by bank transfer before the auto-renew ran.
    const pending = { ...autoRenewingPack, doneMask: actionBits['remind-before'], pendingInvoice: 'INV-1' };
    expect(findDueActions(pending, '2019-09-02')).toEqual([]);
    expect(findDueActions(pending, '2019-09-24')).toEqual(['remind-after']);
    expect(findMissedActions(pending, '2019-10-02')).toEqual(['remind-after']);
    expect(findNextDueOn(pending)).toBe('2019-09-24');
  });
});

describe('findMissedActions: catching up after downtime', () => {
  it.each([
    {
      name: 'on A − 1 nothing is missed yet',
      day: '2019-08-31',
      due: ['remind-before'],
      missed: [],
    },
    {
      name: 'down 40 days from A − 16, back on A + 24: no stale remind-before, the rest caught up',
      day: '2019-09-25',
      due: ['auto-renew', 'remind-after'],
      missed: ['remind-before'],
    },
    {
      name: 'back on A + 30: auto-renew and remind-after still due',
      day: '2019-10-01',
      due: ['auto-renew', 'remind-after'],
      missed: ['remind-before'],
    },
    {
      name: 'down 40 days from A − 9, back on A + 31: auto-renew and remind-after missed, lapse due',
      day: '2019-10-02',
      due: ['lapse'],
      missed: ['remind-before', 'auto-renew', 'remind-after'],
    },
    {
      name: 'back a year later: lapse is never missed',
      day: '2020-09-01',
      due: ['lapse'],
      missed: ['remind-before', 'auto-renew', 'remind-after'],
    },
  ] satisfies { name: string; day: string; due: LifecycleAction[]; missed: LifecycleAction[] }[])('$name', ({ day, due, missed }) => {
    expect(findDueActions(autoRenewingPack, day)).toEqual(due);
    expect(findMissedActions(autoRenewingPack, day)).toEqual(missed);
  });

  it('does not count a done action as missed', () => {
    const reminded = { ...autoRenewingPack, doneMask: actionBits['remind-before'] };
    expect(findMissedActions(reminded, '2019-10-02')).toEqual(['auto-renew', 'remind-after']);
  });

  it('does not count auto-renew as missed for an Action Pack without auto-renew', () => {
    expect(findMissedActions(manualPack, '2019-10-02')).toEqual(['remind-before', 'remind-after']);
  });
});

describe('isDueOn (a job re-checks when it runs)', () => {
  it.each([
    { action: 'remind-before', day: '2019-08-31', expected: true },
    { action: 'remind-before', day: '2019-09-01', expected: false },
    { action: 'auto-renew', day: '2019-10-01', expected: true },
    { action: 'auto-renew', day: '2019-10-02', expected: false },
    { action: 'remind-after', day: '2019-09-23', expected: false },
    { action: 'lapse', day: '2019-10-01', expected: false },
    { action: 'lapse', day: '2019-10-02', expected: true },
  ] satisfies { action: LifecycleAction; day: string; expected: boolean }[])('$action on $day → $expected', ({ action, day, expected }) => {
    expect(isDueOn(autoRenewingPack, action, day)).toBe(expected);
  });

  it('is false once the subscription was renewed (a new anniversary) or cancelled in between', () => {
    expect(isDueOn({ ...manualPack, anniversaryOn: '2020-08-31' }, 'remind-after', '2019-09-24')).toBe(false);
    expect(isDueOn({ ...manualPack, status: 'cancelled', cancelledOn: '2019-09-20' }, 'remind-after', '2019-09-24')).toBe(false);
  });
});

describe('findNextDueOn (the indexed next_due_on)', () => {
  it.each([
    { name: 'fresh subscription → A − 15', subscription: autoRenewingPack, expected: '2019-08-17' },
    { name: 'reminded, auto-renewing → A', subscription: { ...autoRenewingPack, doneMask: 1 }, expected: '2019-09-01' },
    { name: 'reminded, no auto-renew → A + 23', subscription: { ...manualPack, doneMask: 1 }, expected: '2019-09-24' },
    { name: 'reminded competency → A + 23', subscription: { ...competency, doneMask: 1 }, expected: '2019-09-24' },
    { name: 'auto-renew failed, reminders sent → A + 31', subscription: { ...autoRenewingPack, doneMask: 7 }, expected: '2019-10-02' },
    { name: 'year end: A = 2020-01-05 → 2019-12-21', subscription: buildSubscription({ anniversaryOn: '2020-01-05' }), expected: '2019-12-21' },
    { name: 'everything done → null', subscription: { ...autoRenewingPack, doneMask: 15 }, expected: null },
    { name: 'lapsed → null', subscription: { ...autoRenewingPack, status: 'lapsed' }, expected: null },
    { name: 'cancelled → null', subscription: { ...autoRenewingPack, status: 'cancelled' }, expected: null },
  ] satisfies { name: string; subscription: Subscription; expected: string | null }[])('$name', ({ subscription, expected }) => {
    expect(findNextDueOn(subscription)).toBe(expected);
  });
});
