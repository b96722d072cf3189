import { describe, expect, it } from 'vitest';
import { readProblems } from './config-env.js';

describe('SCAN_CRON and LOG_LEVEL are checked with the rest of the configuration', () => {
  it.each(['0 6 * * *', '* * * * * *', '30 5 1-5 * mon-fri'])('SCAN_CRON=%s is accepted', (pattern) => {
    expect(readProblems({ SCAN_CRON: pattern, LIFECYCLE_TZ: 'Asia/Taipei' })).toEqual([]);
  });

  it.each([
    ['99 6 * * *', 'SCAN_CRON=99 6 * * *: Constraint error, got value 99 expected range 0-59, e.g. "0 6 * * *"'],
    ['0 6 31 2 *', 'SCAN_CRON=0 6 31 2 *: Invalid explicit day of month definition, e.g. "0 6 * * *"'],
    ['0 6 * * * foo', 'SCAN_CRON=0 6 * * * foo: Validation error, cannot resolve alias "foo", e.g. "0 6 * * *"'],
  ])('SCAN_CRON=%s, a pattern the scheduler refuses, is one problem', (pattern, problem) => {
    expect(readProblems({ SCAN_CRON: pattern })).toEqual([problem]);
  });

  it('LOG_LEVEL: pino levels and silent; anything else is one problem', () => {
    expect(readProblems({ LOG_LEVEL: 'silent' })).toEqual([]);
    expect(readProblems({ LOG_LEVEL: 'verbose', SCAN_CRON: '61 * * * *' })).toEqual([
      'SCAN_CRON=61 * * * *: Constraint error, got value 61 expected range 0-59, e.g. "0 6 * * *"',
      'LOG_LEVEL=verbose: expected one of fatal, error, warn, info, debug, trace, silent',
    ]);
  });
});

describe('MAIL_FROM', () => {
  it.each(['Partner Program <no-reply@partners.example.com>', 'lifecycle@localhost', '"Renewals, Partner Program" <renewals@example.com>'])('%s is accepted', (from) => {
    expect(readProblems({ MAIL_FROM: from })).toEqual([]);
  });

  it.each(['Partner Program', 'Partner Program <no-reply>', 'a@example.com, b@example.com'])('%s, not one address, is one problem', (from) => {
    expect(readProblems({ MAIL_FROM: from })).toEqual([`MAIL_FROM=${from}: expected one address, e.g. "Partner Program <no-reply@example.com>"`]);
  });
});
