import { describe, expect, it } from 'vitest';
import { formatFaultReport, runFaultInjection } from '../../bench/fault.js';
import { isPostgresTested } from '../../support/postgres.js';

// A short season of bench/fault.ts: worker processes and Redis killed with SIGKILL at random,
// the SMTP server down for three days. Real redis-server and SMTP server; the store a SQLite file,
// or a PostgreSQL database of the run's own that the two worker processes reach by DATABASE_URL.
const databases = (await isPostgresTested()) ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const);

describe.each(databases)('fault injection, short season, on %s', (database) => {
  it('loses no notice and sends none twice outside the SMTP acknowledgement window; the ledger matches a pure replay', async () => {
    const report = await runFaultInjection({ subscriptions: 300, days: 30, daemonKills: 6, redisKills: 3, smtpDownDays: 3, seed: 1, dayTimeoutMs: 30_000, database });
    const summary = formatFaultReport(report);
    expect(report.options.database).toBe(database);
    expect(report.faults, summary).toMatchObject({ daemonKills: 6, redisKills: 3, unexpectedWorkerExits: 0, stuckDays: [] });
    expect(report.notices.lost, summary).toBe(0);
    expect(report.notices.duplicatedOutsideWindow, summary).toBe(0);
    expect(report.notices.unexpected, summary).toBe(0);
    expect(report.ledger, summary).toMatchObject({ duplicateKeys: 0, missing: 0, unexpected: 0, outcomeMismatches: 0, noticeMismatches: 0, overdue: 0 });
    expect(report.isPassed, summary).toBe(true);
  }, 150_000);
});
