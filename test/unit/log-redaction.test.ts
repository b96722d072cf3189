import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { buildRedisOptions } from '../../src/redis/connect.js';

const secrets = {
  smtpPassword: 'smtp-pass-Zq81',
  redisPassword: 'redis-pass-Kx42',
  adminToken: 'admin-token-Wm73-at-least-24-chars',
  webhookSecret: 'webhook-secret-Pv95',
};

function captureLogs() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { log: createLogger('debug', { destination }), text: () => lines.join('') };
}

describe('log redaction', () => {
  const config = loadConfig({
    LIFECYCLE_DATA_DIR: '/tmp/lifecycle-redaction',
    SMTP_URL: `smtp://mailer:${secrets.smtpPassword}@smtp.example.com:587`,
    REDIS_URL: `redis://default:${secrets.redisPassword}@redis.example.com:6379/0`,
    ADMIN_TOKEN: secrets.adminToken,
    PAYMENT_GATEWAY: 'webhook',
    PAYMENT_WEBHOOK_URL: 'https://pay.example.com/charge',
    PAYMENT_WEBHOOK_SECRET: secrets.webhookSecret,
  });

  it.each([
    ['the config object itself', (log: ReturnType<typeof createLogger>) => log.info(config, 'config')],
    ['the config under a key', (log: ReturnType<typeof createLogger>) => log.info({ config }, 'config')],
    ['the config two levels down', (log: ReturnType<typeof createLogger>) => log.info({ start: { config } }, 'config')],
    ['a child logger binding it', (log: ReturnType<typeof createLogger>) => log.child({ config }).warn('child')],
    ['the Redis connection options', (log: ReturnType<typeof createLogger>) => log.info({ connection: buildRedisOptions(config, true) }, 'redis')],
    ['request headers', (log: ReturnType<typeof createLogger>) => log.info({ req: { headers: { authorization: `Bearer ${secrets.adminToken}` } } }, 'request')],
  ])('keeps every secret out of %s', (_name, write) => {
    const { log, text } = captureLogs();
    write(log);
    log.flush();
    const output = text();
    expect(output).toContain('[redacted]');
    for (const secret of Object.values(secrets)) expect(output).not.toContain(secret);
  });

  it('still logs what is not secret', () => {
    const { log, text } = captureLogs();
    log.info(config, 'config');
    log.flush();
    const entry = JSON.parse(text()) as Record<string, unknown>;
    expect(entry).toMatchObject({ dataDir: '/tmp/lifecycle-redaction', smtpUrl: '[redacted]', redisUrl: '[redacted]', adminToken: '[redacted]', adminPort: 8787 });
  });
});

describe('log redaction of errors and messages', () => {
  it('hides URL passwords and configured secrets in an error, a message and any string field', () => {
    loadConfig({ LIFECYCLE_DATA_DIR: '/tmp/lifecycle-redaction', ADMIN_TOKEN: secrets.adminToken, PAYMENT_WEBHOOK_SECRET: secrets.webhookSecret });
    const { log, text } = captureLogs();
    const error = new Error(`connect to redis://:${secrets.redisPassword}@redis.example.com:6379 failed`);
    log.error({ err: error, reason: `signed with ${secrets.webhookSecret}` }, `job failed for token ${secrets.adminToken}`);
    log.warn(`smtp://mailer:${secrets.smtpPassword}@smtp.example.com refused`);
    log.flush();
    const output = text();
    for (const secret of Object.values(secrets)) expect(output).not.toContain(secret);
    const [first, second] = output.trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
    expect(first!.err.message).toBe('connect to redis://***@redis.example.com:6379 failed');
    expect(first!.reason).toBe('signed with ***');
    expect(first!.msg).toBe('job failed for token ***');
    expect(second!.msg).toBe('smtp://***@smtp.example.com refused');
  });
});
