import { describe, expect, it } from 'vitest';
import { findStatusOn } from '../../src/policy/cycle.js';
import { buildSubscription } from './builders.js';

// A = 2019-09-01, window 2019-09-02 … 2019-10-01.
describe('findStatusOn for a cancellation (R11)', () => {
  it.each([
    ['cancelled before A', '2019-08-20', '2019-08-31', 'active'],
    ['cancelled before A', '2019-08-20', '2019-09-01', 'active'], // benefits end at A
    ['cancelled before A', '2019-08-20', '2019-09-02', 'cancelled'],
    ['cancelled inside the window', '2019-09-10', '2019-09-05', 'renewal-window'],
    ['cancelled inside the window', '2019-09-10', '2019-09-10', 'cancelled'],
    ['cancelled inside the window', '2019-09-10', '2019-12-01', 'cancelled'],
  ])('%s (on %s): %s is %s', (_case, cancelledOn, asOf, status) => {
    expect(findStatusOn(buildSubscription({ status: 'cancelled', cancelledOn }), asOf)).toBe(status);
  });
});
