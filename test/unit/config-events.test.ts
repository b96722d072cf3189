import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { eventAttempts, eventBackoffCapMs, findEventBackoffMs } from '../../src/jobs/deliver-event.js';
import { buildEnv, readProblems } from './config-env.js';

const secret = `whsec_${randomBytes(32).toString('base64')}`;

describe('EVENTS_WEBHOOK_URL and EVENTS_WEBHOOK_SECRET', () => {
  it('both set: accepted; neither: events are served by the feed only', () => {
    const config = loadConfig(buildEnv({ EVENTS_WEBHOOK_URL: 'https://benefits.example.com/hooks', EVENTS_WEBHOOK_SECRET: secret }));
    expect([config.eventsWebhookUrl, config.eventsWebhookSecret]).toEqual(['https://benefits.example.com/hooks', secret]);
    expect(loadConfig(buildEnv()).eventsWebhookUrl).toBeNull();
  });

  it.each([
    ['a URL without its secret', { EVENTS_WEBHOOK_URL: 'https://benefits.example.com/hooks' }, [
      'EVENTS_WEBHOOK_SECRET: required when EVENTS_WEBHOOK_URL is set (whsec_ followed by a base64 key, e.g. whsec_$(openssl rand -base64 32))',
    ]],
    ['a secret without whsec_', { EVENTS_WEBHOOK_URL: 'https://b.example.com/h', EVENTS_WEBHOOK_SECRET: 'plain-Secret-value-0123456789' }, [
      'EVENTS_WEBHOOK_SECRET: expected whsec_ followed by a base64 key of 24 to 64 bytes (e.g. whsec_$(openssl rand -base64 32))',
    ]],
    ['a key too short', { EVENTS_WEBHOOK_URL: 'https://b.example.com/h', EVENTS_WEBHOOK_SECRET: 'whsec_c2hvcnQ=' }, [
      'EVENTS_WEBHOOK_SECRET: expected whsec_ followed by a base64 key of 24 to 64 bytes (e.g. whsec_$(openssl rand -base64 32))',
    ]],
    ['credentials in the URL', { EVENTS_WEBHOOK_URL: 'https://hook:pw-Secret9@b.example.com/h', EVENTS_WEBHOOK_SECRET: secret }, [
      'EVENTS_WEBHOOK_URL=https://***@b.example.com/h: credentials in the URL are refused; authenticate with the signature (EVENTS_WEBHOOK_SECRET)',
    ]],
    ['not a URL', { EVENTS_WEBHOOK_URL: 'ftp://b.example.com/h', EVENTS_WEBHOOK_SECRET: secret }, [
      'EVENTS_WEBHOOK_URL=ftp://b.example.com/h: expected a URL starting with http:// or https://',
    ]],
  ])('%s is one problem, never showing the secret', (_name, env, problems) => {
    const found = readProblems(env);
    expect(found).toEqual(problems);
    expect(found.join('\n')).not.toContain('Secret');
  });
});

describe('event delivery retries', () => {
  it('double from JOB_BACKOFF_MS up to an hour apart, and span more than a day', () => {
    const config = { jobBackoffMs: 5_000 };
    expect([1, 2, 3].map((n) => findEventBackoffMs(config, n))).toEqual([5_000, 10_000, 20_000]);
    expect(findEventBackoffMs(config, 30)).toBe(eventBackoffCapMs);
    const total = Array.from({ length: eventAttempts - 1 }, (_, i) => findEventBackoffMs(config, i + 1)).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(24 * 3_600_000);
  });
});
