import { describe, expect, it } from 'vitest';
import { addDays } from '../../src/policy/dates.js';
import { useAdminWorlds } from '../helpers/admin.js';

const D = '2019-09-30';
const servers = useAdminWorlds({ hasSmtp: false });

describe('GET /api/plan pages', () => {
  it('walks every action page by page, the same as one large page, and refuses a forged cursor', async () => {
    const w = await servers.create({ ADMIN_TOKEN: 'secret-admin-token-for-tests-0123' }, D);
    await w.import(Array.from({ length: 30 }, (_, i) => ({ id: `P-${String(i).padStart(2, '0')}`, anniversaryOn: addDays(D, i * 3), autoRenew: i % 2 === 0 })));
    const api = await servers.openApi(w);
    const range = `from=${D}&to=${addDays(D, 120)}`;
    const flatten = (json: { days: { date: string; actions: { subscription: string; action: string }[] }[] }) =>
      json.days.flatMap((d) => d.actions.map((a) => `${d.date} ${a.subscription} ${a.action}`));
    const whole = await api.call('GET', `/api/plan?${range}&limit=5000`);
    expect(whole.json.next).toBeNull();
    const expected = flatten(whole.json).sort();
    expect(expected.length).toBeGreaterThan(60);

    const walked: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page = await api.call('GET', `/api/plan?${range}&limit=10${after ? `&after=${after}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.json.total).toBeLessThanOrEqual(10 + 3); // a subscription is never split
      walked.push(...flatten(page.json));
      after = page.json.next;
      pages += 1;
    } while (after);
    expect(pages).toBeGreaterThan(5);
    expect(walked.sort()).toEqual(expected);

    const forged = await api.call('GET', `/api/plan?${range}&after=nonsense`);
    expect(forged.status).toBe(400);
    expect((await api.call('GET', `/api/plan?limit=5001`)).status).toBe(400);
  });
});
