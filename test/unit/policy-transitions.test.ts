import { describe, expect, it } from 'vitest';
import { addDays } from '../../src/policy/dates.js';
import { actionBits, findDueActions, findNextDueOn, isDone } from '../../src/policy/due.js';
import {
  applyCancellation,
  applyLapse,
  applyReactivation,
  applyRenewal,
  awaitPayment,
  markAllDone,
  markDone,
} from '../../src/policy/transitions.js';
import { lifecycleActions, type LifecycleAction, type Subscription } from '../../src/policy/types.js';
import { buildCompetency, buildSubscription } from './builders.js';

// Seed 000's subscription: anniversary A = 2019-09-01, window 2019-09-02 … 2019-10-01, lapses 2019-10-02.
const all = lifecycleActions.reduce((mask, action) => mask | actionBits[action], 0);

describe('markDone', () => {
  it.each(lifecycleActions.map((action) => [action]))('%s sets its bit and only its bit', (action) => {
    const before = buildSubscription({ isAutoRenew: true });
    const after = markDone(before, action);
    expect(after.doneMask).toBe(actionBits[action]);
    expect(isDone(after, action)).toBe(true);
    expect({ ...after, doneMask: 0 }).toEqual(before);
  });

  it('keeps the bits already set, and marking twice changes nothing', () => {
    const before = buildSubscription({ doneMask: actionBits['remind-before'] });
    const once = markDone(before, 'remind-after');
    expect(once.doneMask).toBe(actionBits['remind-before'] | actionBits['remind-after']);
    expect(markDone(once, 'remind-after')).toEqual(once);
  });

  it('leaves its argument untouched', () => {
    const before = buildSubscription();
    const copy = structuredClone(before);
    markDone(before, 'lapse');
    expect(before).toEqual(copy);
  });

  it('takes the action out of what is due (a job done is not due again)', () => {
    const before = buildSubscription();
    expect(findDueActions(before, '2019-08-17')).toEqual(['remind-before']);
    expect(findDueActions(markDone(before, 'remind-before'), '2019-08-17')).toEqual([]);
  });
});

describe('markAllDone', () => {
  const cases: { name: string; doneMask: number; actions: LifecycleAction[]; expected: number }[] = [
    { name: 'nothing to mark: the same mask', doneMask: 5, actions: [], expected: 5 },
    { name: 'one action', doneMask: 0, actions: ['remind-before'], expected: 1 },
    { name: 'a scan’s missed actions', doneMask: 0, actions: ['remind-before', 'auto-renew'], expected: 3 },
    { name: 'some already done', doneMask: actionBits['remind-before'], actions: ['remind-before', 'remind-after'], expected: 5 },
    { name: 'all four', doneMask: 0, actions: [...lifecycleActions], expected: all },
  ];
  it.each(cases)('$name', ({ doneMask, actions, expected }) => {
    const before = buildSubscription({ doneMask });
    const after = markAllDone(before, actions);
    expect(after.doneMask).toBe(expected);
    expect(after).not.toBe(before);
    expect({ ...after, doneMask }).toEqual(before);
  });

  it('is markDone applied to each action in turn', () => {
    const before = buildSubscription({ doneMask: actionBits['auto-renew'] });
    const actions: LifecycleAction[] = ['remind-after', 'lapse'];
    expect(markAllDone(before, actions)).toEqual(actions.reduce(markDone, before));
  });
});

describe('applyLapse', () => {
  it('R5: lapsed on A + 31, the lapse done, nothing due any more', () => {
    const before = buildSubscription({ doneMask: actionBits['remind-before'] | actionBits['remind-after'] });
    const after = applyLapse(before, '2019-10-02', { keepsPendingInvoice: false });
    expect(after).toEqual({ ...before, status: 'lapsed', lapsedOn: '2019-10-02', doneMask: all & ~actionBits['auto-renew'], pendingInvoice: null });
    expect(findNextDueOn(after)).toBeNull();
  });

  it.each([
    { name: 'an unpaid renewal invoice is dropped (the caller voids it)', keepsPendingInvoice: false, expected: null },
    { name: 'a reactivation invoice stays payable until its deadline (R14)', keepsPendingInvoice: true, expected: 'INV-7' },
  ])('$name', ({ keepsPendingInvoice, expected }) => {
    const before = buildSubscription({ pendingInvoice: 'INV-7' });
    expect(applyLapse(before, '2019-10-02', { keepsPendingInvoice }).pendingInvoice).toBe(expected);
  });

  it('keeps the anniversary (the ledger reads the cycle that lapsed) and the cancellation day', () => {
    const after = applyLapse(buildSubscription(), '2019-10-02', { keepsPendingInvoice: false });
    expect(after.anniversaryOn).toBe('2019-09-01');
    expect(after.cancelledOn).toBeNull();
  });
});

describe('applyRenewal and applyReactivation', () => {
  const cases: { name: string; before: Subscription; newAnniversary: string }[] = [
    { name: 'R7: an auto-renew paid on A (same calendar date next year)', before: buildSubscription({ isAutoRenew: true, doneMask: actionBits['remind-before'] }), newAnniversary: '2020-09-01' },
    { name: 'R6: an operator renewal inside the window (A + 365 days)', before: buildSubscription({ doneMask: actionBits['remind-before'] | actionBits['remind-after'] }), newAnniversary: '2020-08-31' },
    { name: 'R7: a pending invoice confirmed', before: buildSubscription({ doneMask: actionBits['remind-before'] | actionBits['auto-renew'], pendingInvoice: 'INV-1' }), newAnniversary: '2020-09-01' },
    { name: 'R14: a lapsed competency reactivated', before: buildCompetency({ status: 'lapsed', lapsedOn: '2020-04-10', doneMask: all, pendingInvoice: 'INV-2' }), newAnniversary: '2021-03-10' },
  ];
  it.each(cases)('$name: a new cycle, active, nothing done or pending', ({ before, newAnniversary }) => {
    const after = applyRenewal(before, newAnniversary);
    expect(after).toEqual({ ...before, anniversaryOn: newAnniversary, status: 'active', doneMask: 0, pendingInvoice: null, lapsedOn: null });
    expect(applyReactivation(before, newAnniversary)).toEqual(after);
    // The new cycle's first step is its reminder before (R2), 15 days before the new A.
    expect(findNextDueOn(after)).toBe(addDays(newAnniversary, -15));
  });
});

describe('applyCancellation', () => {
  it('R11: cancelled that day, the pending invoice dropped, the cycle and its ledger bits kept', () => {
    const before = buildSubscription({ doneMask: actionBits['remind-before'], pendingInvoice: 'INV-3' });
    const after = applyCancellation(before, '2019-09-10');
    expect(after).toEqual({ ...before, status: 'cancelled', cancelledOn: '2019-09-10', pendingInvoice: null });
    expect(findNextDueOn(after)).toBeNull();
  });
});

describe('awaitPayment', () => {
  it('R7: only the pending invoice changes; reminders after and the lapse still come', () => {
    const before = buildSubscription({ isAutoRenew: true, payment: { method: 'bank_transfer', contactName: 'A', phone: '1', email: 'a@b.example' } });
    const after = awaitPayment(before, 'INV-4');
    expect(after).toEqual({ ...before, pendingInvoice: 'INV-4' });
  });

  it('an auto-renew waiting for payment marks itself done first', () => {
    const after = awaitPayment(markDone(buildSubscription({ isAutoRenew: true }), 'auto-renew'), 'INV-5');
    expect(after).toMatchObject({ doneMask: actionBits['auto-renew'], pendingInvoice: 'INV-5', anniversaryOn: '2019-09-01' });
    expect(findDueActions(after, '2019-09-24')).toEqual(['remind-after']);
  });
});

/** mulberry32: a seeded generator, so a failing sequence is the same on every run. */
function createRandom(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Step = { name: string; apply(s: Subscription): Subscription };

function pickStep(random: () => number): Step {
  const action = lifecycleActions[Math.floor(random() * lifecycleActions.length)]!;
  const steps: Step[] = [
    { name: `markDone ${action}`, apply: (s) => markDone(s, action) },
    { name: `markAllDone ${action},lapse`, apply: (s) => markAllDone(s, [action, 'lapse']) },
    { name: 'applyLapse', apply: (s) => applyLapse(s, addDays(s.anniversaryOn, 31), { keepsPendingInvoice: random() < 0.5 }) },
    { name: 'applyCancellation', apply: (s) => applyCancellation(s, addDays(s.anniversaryOn, 3)) },
    { name: 'awaitPayment', apply: (s) => awaitPayment(s, `INV-${Math.floor(random() * 100)}`) },
    { name: 'applyRenewal', apply: (s) => applyRenewal(s, addDays(s.anniversaryOn, 365)) },
    { name: 'applyReactivation', apply: (s) => applyReactivation(s, addDays(s.anniversaryOn, 365)) },
  ];
  return steps[Math.floor(random() * steps.length)]!;
}

describe('transitions: properties over random sequences (seeded)', () => {
  it.each([1, 2, 3, 42, 2020])('seed %i: within an anniversary the mask only grows; a new anniversary starts from 0', (seed) => {
    const random = createRandom(seed);
    for (let run = 0; run < 100; run++) {
      let state = buildSubscription({ isAutoRenew: random() < 0.5 });
      const trail: string[] = [];
      for (let i = 0; i < 12; i++) {
        const step = pickStep(random);
        trail.push(step.name);
        const frozen = Object.freeze({ ...state });
        const next = step.apply(frozen);
        const where = `seed ${seed}, run ${run}: ${trail.join(' → ')}`;
        expect(frozen, where).toEqual(state); // pure: the argument is not changed
        if (next.anniversaryOn === state.anniversaryOn) {
          expect(next.doneMask & state.doneMask, where).toBe(state.doneMask);
        } else {
          expect(next.anniversaryOn > state.anniversaryOn, where).toBe(true);
          expect(next.doneMask, where).toBe(0);
          expect(next, where).toMatchObject({ status: 'active', lapsedOn: null, pendingInvoice: null });
        }
        expect(next.doneMask & ~all, where).toBe(0); // no bit outside the four actions
        expect(next.id, where).toBe(state.id);
        state = next;
      }
    }
  });

  it('marking done never brings the next due day earlier', () => {
    const random = createRandom(7);
    for (let run = 0; run < 500; run++) {
      const state = buildSubscription({ isAutoRenew: random() < 0.5, doneMask: Math.floor(random() * 16) });
      const action = lifecycleActions[Math.floor(random() * lifecycleActions.length)]!;
      const before = findNextDueOn(state);
      const after = findNextDueOn(markDone(state, action));
      if (before === null) expect(after).toBeNull();
      else if (after !== null) expect(after >= before).toBe(true);
    }
  });
});
