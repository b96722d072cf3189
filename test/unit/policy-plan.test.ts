import { describe, expect, it } from 'vitest';
import { actionBits } from '../../src/policy/due.js';
import { planCycle } from '../../src/policy/plan.js';
import { buildCompetency, buildSubscription } from './builders.js';

// Seed 000's subscription: anniversary A = 2019-09-01.
const format = (planned: ReturnType<typeof planCycle>) => planned.map(({ date, action }) => `${date} ${action}`);

describe('planCycle: the policy run forward without effects', () => {
  const cases: { name: string; subscription: ReturnType<typeof buildSubscription>; from: string; to: string; expected: string[] }[] = [
    {
      name: 'an auto-renewing pack: renewals are not predicted, so the reminder after and the lapse follow',
      subscription: buildSubscription({ isAutoRenew: true }),
      from: '2019-08-01',
      to: '2019-12-31',
      expected: ['2019-08-17 remind-before', '2019-09-01 auto-renew', '2019-09-24 remind-after', '2019-10-02 lapse'],
    },
    {
      name: 'a manual pack has no auto-renew',
      subscription: buildSubscription({ isAutoRenew: false }),
      from: '2019-08-01',
      to: '2019-12-31',
      expected: ['2019-08-17 remind-before', '2019-09-24 remind-after', '2019-10-02 lapse'],
    },
    {
      name: 'a range starting late lists what is still due on its first day, and leaves out what passed',
      subscription: buildSubscription({ isAutoRenew: true }),
      from: '2019-09-25',
      to: '2019-12-31',
      expected: ['2019-09-25 auto-renew', '2019-09-25 remind-after', '2019-10-02 lapse'],
    },
    {
      name: 'the range end is inclusive and nothing after it is listed',
      subscription: buildSubscription(),
      from: '2019-08-17',
      to: '2019-09-24',
      expected: ['2019-08-17 remind-before', '2019-09-24 remind-after'],
    },
    {
      name: 'actions already done for the cycle are not listed again',
      subscription: buildSubscription({ doneMask: actionBits['remind-before'] | actionBits['remind-after'] }),
      from: '2019-08-01',
      to: '2019-12-31',
      expected: ['2019-10-02 lapse'],
    },
    {
      name: 'a competency (R9: no auto-renew)',
      subscription: buildCompetency({ anniversaryOn: '2019-09-01' }),
      from: '2019-08-01',
      to: '2019-12-31',
      expected: ['2019-08-17 remind-before', '2019-09-24 remind-after', '2019-10-02 lapse'],
    },
    { name: 'a cancelled subscription', subscription: buildSubscription({ status: 'cancelled', cancelledOn: '2019-08-01' }), from: '2019-08-01', to: '2019-12-31', expected: [] },
    { name: 'a lapsed subscription', subscription: buildSubscription({ status: 'lapsed', lapsedOn: '2019-10-02' }), from: '2019-08-01', to: '2019-12-31', expected: [] },
    { name: 'a range before anything is due', subscription: buildSubscription(), from: '2019-01-01', to: '2019-08-16', expected: [] },
  ];
  it.each(cases)('$name', ({ subscription, from, to, expected }) => {
    expect(format(planCycle(subscription, from, to))).toEqual(expected);
  });

  it('does not change the subscription it plans', () => {
    const subscription = buildSubscription({ isAutoRenew: true });
    const copy = structuredClone(subscription);
    planCycle(subscription, '2019-08-01', '2019-12-31');
    expect(subscription).toEqual(copy);
  });
});
