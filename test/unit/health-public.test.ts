import { describe, expect, it } from 'vitest';
import { createHealthLogger, describeHealthPublicly, type Health } from '../../src/ops/health.js';

const degraded: Health = {
  status: 'degraded',
  checks: {
    database: { ok: true },
    redis: { ok: false, error: 'connect ECONNREFUSED 10.0.0.5:6379' },
    smtp: { ok: false, mode: 'smtp', error: 'Invalid login: 535 5.7.8 user mailer@example.com rejected' },
  },
};

describe('/healthz answer and log (SPEC §9)', () => {
  it('says ok or not per component, without error text', () => {
    const shown = describeHealthPublicly(degraded);
    expect(shown).toEqual({ status: 'degraded', checks: { database: { ok: true }, redis: { ok: false }, smtp: { ok: false, mode: 'smtp' } } });
    expect(JSON.stringify(shown)).not.toMatch(/ECONNREFUSED|mailer@|535/);
  });

  it('logs a failure when it starts or its reason changes, and the recovery, not every poll', () => {
    const lines: [string, Record<string, unknown>, string][] = [];
    const log = {
      warn: (object: Record<string, unknown>, message: string) => lines.push(['warn', object, message]),
      info: (object: Record<string, unknown>, message: string) => lines.push(['info', object, message]),
    };
    const logHealth = createHealthLogger(log as never);
    const ok: Health = { status: 'ok', checks: { database: { ok: true }, redis: { ok: true }, smtp: { ok: true, mode: 'smtp' } } };
    logHealth(ok);
    expect(lines).toEqual([]);
    logHealth(degraded);
    logHealth(degraded);
    expect(lines.map(([level, object]) => [level, object.component, object.reason])).toEqual([
      ['warn', 'redis', 'connect ECONNREFUSED 10.0.0.5:6379'],
      ['warn', 'smtp', 'Invalid login: 535 5.7.8 user mailer@example.com rejected'],
    ]);
    logHealth(ok);
    expect(lines.slice(2).map(([level, object]) => [level, object.component])).toEqual([
      ['info', 'redis'],
      ['info', 'smtp'],
    ]);
  });
});
