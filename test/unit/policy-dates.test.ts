import { describe, expect, it } from 'vitest';
import { findCycleDates, findFirstAnniversary, findStatusOn, type DisplayStatus } from '../../src/policy/cycle.js';
import { addDays, addYears, daysBetween, fromDayNumber, isIsoDate, isTimeZone, toDayNumber, todayIn } from '../../src/policy/dates.js';
import type { Subscription } from '../../src/policy/types.js';
import { buildSubscription } from './builders.js';

describe('isIsoDate', () => {
  it.each([
    { value: '2019-09-01', expected: true },
    { value: '2020-02-29', expected: true },
    { value: '2000-02-29', expected: true },
    { value: '2019-02-29', expected: false },
    { value: '1900-02-29', expected: false },
    { value: '2019-02-30', expected: false },
    { value: '2019-04-31', expected: false },
    { value: '2019-13-01', expected: false },
    { value: '2019-00-10', expected: false },
    { value: '2019-01-00', expected: false },
    { value: '2019-9-1', expected: false },
    { value: '2019-09-01T00:00:00Z', expected: false },
    { value: ' 2019-09-01', expected: false },
    { value: '2019/09/01', expected: false },
    { value: '2019-0a-01', expected: false },
    { value: '20_9-09-01', expected: false },
    { value: '2019-09-0\uff11', expected: false },
    { value: '2019-09--1', expected: false },
    { value: '', expected: false },
    { value: 20190901, expected: false },
    { value: null, expected: false },
  ])('$value → $expected', ({ value, expected }) => {
    expect(isIsoDate(value)).toBe(expected);
  });
});

describe('addDays and daysBetween', () => {
  it.each([
    { name: 'within a month', date: '2019-09-01', days: 1, expected: '2019-09-02' },
    { name: 'backwards across a month', date: '2019-09-01', days: -15, expected: '2019-08-17' },
    { name: 'across a year end', date: '2019-12-31', days: 1, expected: '2020-01-01' },
    { name: 'backwards across a year end', date: '2020-01-05', days: -15, expected: '2019-12-21' },
    { name: 'onto Feb 29 of a leap year', date: '2020-02-28', days: 1, expected: '2020-02-29' },
    { name: 'past Feb 28 of a common year', date: '2019-02-28', days: 1, expected: '2019-03-01' },
    { name: '365 days across Feb 29 (R6 drift)', date: '2019-03-01', days: 365, expected: '2020-02-29' },
    { name: '365 days not across Feb 29', date: '2020-03-01', days: 365, expected: '2021-03-01' },
  ])('$name: $date + $days = $expected', ({ date, days, expected }) => {
    expect(addDays(date, days)).toBe(expected);
    expect(daysBetween(date, expected)).toBe(days);
  });
});

describe('toDayNumber and fromDayNumber', () => {
  it.each([
    { date: '1970-01-01', day: 0 },
    { date: '1969-12-31', day: -1 },
    { date: '2000-02-29', day: 11_016 },
    { date: '2019-09-01', day: 18_140 },
  ])('$date ↔ day $day', ({ date, day }) => {
    expect(toDayNumber(date)).toBe(day);
    expect(fromDayNumber(day)).toBe(date);
  });

  it('agrees with the Date object on every day from 1800 to 2200', () => {
    const mismatches: string[] = [];
    for (let day = toDayNumber('1800-01-01'); day <= toDayNumber('2200-12-31'); day++) {
      const expected = new Date(day * 86_400_000).toISOString().slice(0, 10);
      if (fromDayNumber(day) !== expected || toDayNumber(expected) !== day) mismatches.push(`${day} ${expected} ${fromDayNumber(day)}`);
    }
    expect(mismatches).toEqual([]);
  });

  it('years 0000 to 0099 are those years, not 1900 to 1999 (the API takes any YYYY-MM-DD: /api/plan?from=0019-09-01)', () => {
    expect(toDayNumber('0000-03-01')).toBe(-719_468);
    expect(addDays('0019-09-01', 30)).toBe('0019-10-01');
    expect(daysBetween('0099-12-31', '0100-01-01')).toBe(1);
    expect(fromDayNumber(toDayNumber('0001-01-01'))).toBe('0001-01-01');
  });
});

describe('addYears (R1, R7: same calendar date, Feb 29 → Feb 28)', () => {
  it.each([
    { date: '2018-09-01', years: 1, expected: '2019-09-01' },
    { date: '2020-02-29', years: 1, expected: '2021-02-28' },
    { date: '2020-02-29', years: 4, expected: '2024-02-29' },
    { date: '2019-02-28', years: 1, expected: '2020-02-28' },
    { date: '2019-12-31', years: 1, expected: '2020-12-31' },
  ])('$date + $years year(s) = $expected', ({ date, years, expected }) => {
    expect(addYears(date, years)).toBe(expected);
  });
});

describe('findFirstAnniversary (R1)', () => {
  it.each([
    { name: 'seed 000: bought 2018-09-01', purchasedOn: '2018-09-01', expected: '2019-09-01' },
    { name: 'Feb 29 purchase → Feb 28 next year', purchasedOn: '2020-02-29', expected: '2021-02-28' },
    { name: 'Feb 28 purchase before a leap year stays Feb 28', purchasedOn: '2019-02-28', expected: '2020-02-28' },
    { name: 'Mar 1 purchase in a leap year', purchasedOn: '2020-03-01', expected: '2021-03-01' },
    { name: 'Dec 31 purchase', purchasedOn: '2019-12-31', expected: '2020-12-31' },
  ])('$name → $expected', ({ purchasedOn, expected }) => {
    expect(findFirstAnniversary(purchasedOn)).toBe(expected);
  });
});

describe('findCycleDates (R2–R5)', () => {
  it.each([
    {
      name: 'seed 000: anniversary 2019-09-01, window opens 2019-09-02',
      anniversary: '2019-09-01',
      expected: {
        remindBeforeOn: '2019-08-17',
        windowOpens: '2019-09-02',
        remindAfterOn: '2019-09-24',
        windowCloses: '2019-10-01',
        lapsesOn: '2019-10-02',
      },
    },
    {
      name: 'seed 002: expires June 22, renewable from June 23 for 30 days',
      anniversary: '2020-06-22',
      expected: {
        remindBeforeOn: '2020-06-07',
        windowOpens: '2020-06-23',
        remindAfterOn: '2020-07-15',
        windowCloses: '2020-07-22',
        lapsesOn: '2020-07-23',
      },
    },
    {
      name: 'anniversary on a year end: the window runs into January',
      anniversary: '2019-12-31',
      expected: {
        remindBeforeOn: '2019-12-16',
        windowOpens: '2020-01-01',
        remindAfterOn: '2020-01-23',
        windowCloses: '2020-01-30',
        lapsesOn: '2020-01-31',
      },
    },
    {
      name: 'early January anniversary: the reminder is in the previous year',
      anniversary: '2020-01-05',
      expected: {
        remindBeforeOn: '2019-12-21',
        windowOpens: '2020-01-06',
        remindAfterOn: '2020-01-28',
        windowCloses: '2020-02-04',
        lapsesOn: '2020-02-05',
      },
    },
    {
      name: 'window across Feb 29',
      anniversary: '2020-02-15',
      expected: {
        remindBeforeOn: '2020-01-31',
        windowOpens: '2020-02-16',
        remindAfterOn: '2020-03-09',
        windowCloses: '2020-03-16',
        lapsesOn: '2020-03-17',
      },
    },
  ])('$name', ({ anniversary, expected }) => {
    expect(findCycleDates(anniversary)).toEqual({ anniversary, ...expected });
  });
});

describe('findStatusOn', () => {
  const active = buildSubscription({ anniversaryOn: '2019-09-01' });
  const lapsed = buildSubscription({ anniversaryOn: '2019-09-01', status: 'lapsed', lapsedOn: '2019-10-02' });
  const cancelledBeforeA = buildSubscription({ anniversaryOn: '2019-09-01', status: 'cancelled', cancelledOn: '2019-08-20' });

  const cases: { name: string; subscription: Subscription; asOf: string; expected: DisplayStatus }[] = [
    { name: 'active long before A', subscription: active, asOf: '2019-01-01', expected: 'active' },
    { name: 'active on A', subscription: active, asOf: '2019-09-01', expected: 'active' },
    { name: 'renewal window on A + 1', subscription: active, asOf: '2019-09-02', expected: 'renewal-window' },
    { name: 'renewal window on A + 30', subscription: active, asOf: '2019-10-01', expected: 'renewal-window' },
    { name: 'lapsed on A + 31 before the lapse job ran', subscription: active, asOf: '2019-10-02', expected: 'lapsed' },
    { name: 'lapsed a year later', subscription: active, asOf: '2020-09-01', expected: 'lapsed' },
    { name: 'stored lapsed', subscription: lapsed, asOf: '2019-10-02', expected: 'lapsed' },
    { name: 'cancelled: active before A', subscription: cancelledBeforeA, asOf: '2019-08-25', expected: 'active' },
    { name: 'cancelled: active through A (R11)', subscription: cancelledBeforeA, asOf: '2019-09-01', expected: 'active' },
    { name: 'cancelled from A + 1 (R11)', subscription: cancelledBeforeA, asOf: '2019-09-02', expected: 'cancelled' },
    { name: 'cancelled, long after', subscription: cancelledBeforeA, asOf: '2020-01-01', expected: 'cancelled' },
  ];
  it.each(cases)('$name ($asOf) → $expected', ({ subscription, asOf, expected }) => {
    expect(findStatusOn(subscription, asOf)).toBe(expected);
  });
});

describe('todayIn (the clock is an argument)', () => {
  const instant = new Date('2019-08-31T20:00:00Z');
  it.each([
    { timeZone: 'UTC', expected: '2019-08-31' },
    { timeZone: 'Asia/Taipei', expected: '2019-09-01' },
    { timeZone: 'America/Los_Angeles', expected: '2019-08-31' },
  ])('$timeZone → $expected', ({ timeZone, expected }) => {
    expect(todayIn(timeZone, instant)).toBe(expected);
  });

  it.each([
    { timeZone: 'Asia/Taipei', expected: true },
    { timeZone: 'UTC', expected: true },
    { timeZone: 'Mars/Olympus_Mons', expected: false },
  ])('isTimeZone($timeZone) → $expected', ({ timeZone, expected }) => {
    expect(isTimeZone(timeZone)).toBe(expected);
  });
});
