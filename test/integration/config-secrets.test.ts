import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { errorLines, runLifecycle } from '../helpers/cli.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'lifecycle-config-secrets-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/**
 * SPEC §9: a configuration error names the variable and what is wrong, never the secret the
 * value holds. Each case: the environment, the secret it carries, the variable the error names.
 */
const cases: [string, Record<string, string>, string, string][] = [
  ['REDIS_URL of the wrong scheme', { REDIS_URL: 'http://:redispass-SECRET1@redis.example.com:6379' }, 'redispass-SECRET1', 'REDIS_URL'],
  ['REDIS_URL that is no URL', { REDIS_URL: 'redis://:redispass-SECRET2@' }, 'redispass-SECRET2', 'REDIS_URL'],
  ['SMTP_URL of the wrong scheme', { SMTP_URL: 'http://mailer:smtppass-SECRET3@smtp.example.com' }, 'smtppass-SECRET3', 'SMTP_URL'],
  ['SMTP_URL without a scheme', { SMTP_URL: 'mailer:smtppass-SECRET4@smtp.example.com' }, 'smtppass-SECRET4', 'SMTP_URL'],
  [
    'PAYMENT_WEBHOOK_URL with credentials',
    { PAYMENT_GATEWAY: 'webhook', PAYMENT_WEBHOOK_URL: 'https://shop:hookpass-SECRET5@pay.example.com/charge', PAYMENT_WEBHOOK_SECRET: 'whsec-SECRET6' },
    'hookpass-SECRET5',
    'PAYMENT_WEBHOOK_URL',
  ],
  [
    'PAYMENT_WEBHOOK_URL with a token as user name',
    { PAYMENT_GATEWAY: 'webhook', PAYMENT_WEBHOOK_URL: 'https://hooktoken-SECRET7@pay.example.com/charge', PAYMENT_WEBHOOK_SECRET: 'whsec-SECRET8' },
    'hooktoken-SECRET7',
    'PAYMENT_WEBHOOK_URL',
  ],
  ['PAYMENT_WEBHOOK_URL of the wrong scheme', { PAYMENT_WEBHOOK_URL: 'ftp://shop:hookpass-SECRET9@pay.example.com/' }, 'hookpass-SECRET9', 'PAYMENT_WEBHOOK_URL'],
  [
    'PAYMENT_WEBHOOK_SECRET without its URL',
    { PAYMENT_GATEWAY: 'webhook', PAYMENT_WEBHOOK_SECRET: 'whsec-SECRET10' },
    'whsec-SECRET10',
    'PAYMENT_WEBHOOK_URL',
  ],
  ['ADMIN_TOKEN too short to listen beyond loopback', { ADMIN_HOST: '0.0.0.0', ADMIN_TOKEN: 'tok-SECRET11' }, 'tok-SECRET11', 'ADMIN_'],
];

describe('configuration errors show no secret (SPEC §9)', () => {
  it.each(cases)('%s', async (_name, env, secret, variable) => {
    // Another problem beside it (a bad number): the secret's variable is not the only line.
    const result = await runLifecycle(['status'], { dataDir, env: { ...env, JOB_ATTEMPTS: 'many' } });
    expect(result.status).toBe(1);
    const output = result.stdout + result.stderr;
    expect(output).not.toContain(secret);
    expect(output).not.toContain(encodeURIComponent(secret));
    const lines = errorLines(result.stderr);
    expect(lines.some((line) => line.startsWith(`error: JOB_ATTEMPTS=many`))).toBe(true);
    if (variable !== 'ADMIN_') expect(lines.some((line) => line.startsWith(`error: ${variable}`))).toBe(true);
  });

  it('shows the rest of a refused URL, its user-info hidden', async () => {
    const result = await runLifecycle(['status'], { dataDir, env: { REDIS_URL: 'http://:redispass-SECRET1@redis.example.com:6379' } });
    expect(errorLines(result.stderr)).toEqual(['error: REDIS_URL=http://***@redis.example.com:6379/: expected a URL starting with redis:// or rediss://']);
  });
});
