import { describe, expect, it } from 'vitest';
import { enqueueActions, buildActionJobId, waitUntilIdle } from '../../src/jobs/queues.js';
import { runScan } from '../../src/jobs/scan.js';
import { addDays } from '../../src/policy/dates.js';
import { useAdminWorlds } from '../helpers/admin.js';
import { errorLines, runLifecycle } from '../helpers/cli.js';
import { outboxMail } from '../helpers/world.js';

const D = '2019-09-30';

const servers = useAdminWorlds();

describe('a scan as of a future day', () => {
  it('is refused by the API and the scan job; the real scan of that day then sends the reminder', async () => {
    const w = await servers.create({ ADMIN_TOKEN: 'secret-admin-token-for-tests-0123' }, D);
    // remind-before is due from A − 15 = D + 5.
    const anniversary = addDays(D, 20);
    await w.import([{ id: 'F-1', anniversaryOn: anniversary }]);
    const api = await servers.openApi(w);
    const refused = await api.call('POST', '/api/scans', { body: { asOf: addDays(D, 5) } });
    expect(refused.status).toBe(400);
    expect(refused.json.error).toMatch(/^body\/asOf: 2019-10-05 is after today \(2019-09-30\).*--dry-run.*simulate/);
    const dryRun = await api.call('POST', '/api/scans', { body: { asOf: addDays(D, 5), dryRun: true } });
    expect(dryRun.json).toMatchObject({ count: 1 });
    await expect(runScan(api.runtime.deps, { trigger: 'operator', asOf: addDays(D, 5) })).rejects.toThrow(/is after today/);

    // What a future scan used to leave: the action's job run before its day.
    await enqueueActions(api.runtime.queues.actions, [{ action: 'remind-before', data: { subscription: 'F-1', anniversary, foundOn: D } }]);
    await waitUntilIdle(api.runtime.queues.actions);
    expect(await w.ledger()).toEqual([]);
    // It recorded nothing, so it does not hold the id the real day's scan needs.
    expect(await api.runtime.queues.actions.getJob(buildActionJobId('remind-before', 'F-1', anniversary))).toBeUndefined();

    w.today = addDays(D, 5);
    const scan = await runScan(api.runtime.deps, { trigger: 'daily' });
    expect(scan).toMatchObject({ asOf: '2019-10-05', due: 1, enqueued: 1 });
    await waitUntilIdle(api.runtime.queues.actions);
    expect((await w.ledger()).map((r) => `${r.subscription} ${r.action} ${r.outcome}`)).toEqual(['F-1 remind-before sent']);
    expect(servers.smtp.messages.filter((m) => m.headers.get('x-lifecycle-subscription') === 'F-1')).toHaveLength(1);
  });

  it('is refused by `lifecycle scan --as-of`, with nothing started', async () => {
    const world = await servers.create(outboxMail, D);
    const result = await runLifecycle(['scan', '--as-of', '2999-01-01'], { dataDir: world.dir, env: { REDIS_URL: servers.redis.url } });
    expect(result.status).toBe(1);
    expect(errorLines(result.stderr)).toEqual([expect.stringMatching(/^error: --as-of 2999-01-01 is after today \(\d{4}-\d\d-\d\d\): .*--dry-run.*lifecycle simulate/)]);
    const dryRun = await runLifecycle(['scan', '--as-of', '2999-01-01', '--dry-run'], { dataDir: world.dir });
    expect(dryRun.status).toBe(0);
  });
});
