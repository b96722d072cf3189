import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { buildEnv, readProblems } from './config-env.js';

describe('SMTP pool settings', () => {
  it('default to 5 connections and no rate limit', () => {
    const config = loadConfig(buildEnv({ SMTP_URL: 'smtp://relay.example.com:587' }));
    expect([config.smtpMaxConnections, config.smtpMaxPerSecond]).toEqual([5, null]);
  });

  it('take SMTP_MAX_CONNECTIONS and SMTP_MAX_PER_SECOND', () => {
    const config = loadConfig(buildEnv({ SMTP_MAX_CONNECTIONS: '20', SMTP_MAX_PER_SECOND: '14' }));
    expect([config.smtpMaxConnections, config.smtpMaxPerSecond]).toEqual([20, 14]);
  });

  it('refuse what is not a count in range, one line each', () => {
    expect(readProblems({ SMTP_MAX_CONNECTIONS: '0', SMTP_MAX_PER_SECOND: 'fast' })).toEqual([
      'SMTP_MAX_PER_SECOND=fast: expected a whole number from 1 to 100000',
      'SMTP_MAX_CONNECTIONS=0: expected a whole number from 1 to 100',
    ]);
  });
});
