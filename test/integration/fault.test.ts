import { describe, expect, it } from 'vitest';
import { formatFaultReport, runFaultInjection } from '../../bench/fault.js';

// A short season of bench/fault.ts: worker processes and Redis killed with SIGKILL at random,
// the SMTP server down for three days. Real redis-server, SMTP server and SQLite file.
describe('fault injection, short season', () => {
  it('loses no notice and sends none twice outside the SMTP acknowledgement window; the ledger matches a pure replay', async () => {
    const report = await runFaultInjection({ subscriptions: 300, days: 30, daemonKills: 6, redisKills: 3, smtpDownDays: 3, seed: 1, dayTimeoutMs: 30_000 });
    const summary = formatFaultReport(report);
    expect(report.faults, summary).toMatchObject({ daemonKills: 6, redisKills: 3, unexpectedWorkerExits: 0, stuckDays: [] });
    expect(report.notices.lost, summary).toBe(0);
    expect(report.notices.duplicatedOutsideWindow, summary).toBe(0);
    expect(report.notices.unexpected, summary).toBe(0);
    expect(report.ledger, summary).toMatchObject({ duplicateKeys: 0, missing: 0, unexpected: 0, outcomeMismatches: 0, noticeMismatches: 0, overdue: 0 });
    expect(report.isPassed, summary).toBe(true);
  }, 150_000);
});
