import path from 'node:path';
import { CronExpressionParser } from 'cron-parser';
import addressparser from 'nodemailer/lib/addressparser/index.js';
import { isTimeZone } from './policy/dates.js';
import { redactUrl, rememberSecrets, secretsOfUrl } from './redact.js';

export type PaymentGatewayName = 'manual' | 'test' | 'webhook';

/** Where the data lives: the data dir's SQLite file, or the PostgreSQL database DATABASE_URL names. */
export type DatabaseConfig = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

/** Everything configurable, parsed once from the environment at start (README "Configuration"). */
export interface Config {
  /** LIFECYCLE_DATA_DIR. @defaultValue `./data` */
  dataDir: string;
  /**
   * DATABASE_URL (`postgres://` or `postgresql://`): the data in PostgreSQL; unset → the SQLite
   * file `<dataDir>/lifecycle.db`. The URL carries the password: show it only through `redact`.
   */
  database: DatabaseConfig;
  /** LIFECYCLE_TZ: the program time zone, an IANA name. @defaultValue `UTC` */
  timeZone: string;
  /** REDIS_URL: unset → the daemon owns a private redis-server in the data dir. */
  redisUrl: string | null;
  /** QUEUE_PREFIX: BullMQ key prefix, so several deployments can share one Redis. @defaultValue `lifecycle` */
  queuePrefix: string;
  /** SMTP_URL: unset → messages are written as .eml files under `<dataDir>/outbox`. */
  smtpUrl: string | null;
  /** SMTP_MAX_PER_SECOND: rate limit of the SMTP pool. @defaultValue unlimited */
  smtpMaxPerSecond: number | null;
  /** SMTP_MAX_CONNECTIONS: connections the SMTP pool opens at most. @defaultValue 5 */
  smtpMaxConnections: number;
  /** MAIL_FROM. @defaultValue `Partner Program <no-reply@membership-lifecycle.local>` */
  mailFrom: string;
  /** MAIL_DOMAIN: the right-hand side of Message-IDs. @defaultValue `membership-lifecycle.local` */
  mailDomain: string;
  /** RENEW_URL, SUPPORT_URL: the links notices give. */
  renewUrl: string;
  supportUrl: string;
  /** BILL_TO_URL: where notices send a partner to fix an invalid bill-to address (R13). @defaultValue Partner Center's legal-info page */
  billToUrl: string;
  /**
   * PAYMENT_INSTRUCTIONS (en) and PAYMENT_INSTRUCTIONS_ZH_TW (zh-TW): how to pay a pending invoice,
   * in `invoice-pending` notices; `\n` starts a new line. zh-TW falls back to PAYMENT_INSTRUCTIONS
   * when only that is set (the bank details matter more than the language). @defaultValue {@link defaultPaymentInstructions}
   */
  paymentInstructions: Record<'en' | 'zh-TW', string>;
  /** SCAN_CRON: when the daily scan fires, in `timeZone`. @defaultValue `0 6 * * *` */
  scanCron: string;
  /** WORKER_CONCURRENCY: jobs processed at once per daemon. @defaultValue 8 */
  workerConcurrency: number;
  /** JOB_ATTEMPTS: tries of a job before it is left failed for operators. @defaultValue 8 */
  jobAttempts: number;
  /** JOB_BACKOFF_MS: first retry delay, doubled at each attempt. @defaultValue 5000 */
  jobBackoffMs: number;
  /** JOB_LOCK_MS: a running job's lock; a crashed worker's jobs run again after it expires. @defaultValue 30000 */
  jobLockMs: number;
  /** SHUTDOWN_TIMEOUT_MS: how long a stop waits for running jobs. @defaultValue 20000 */
  shutdownTimeoutMs: number;
  /** ADMIN_HOST, ADMIN_PORT: the admin API. @defaultValue `127.0.0.1`, `8787` */
  adminHost: string;
  adminPort: number;
  /** ADMIN_TOKEN: the bootstrap bearer token of the admin API, operator role, at least 24 characters (required to listen beyond loopback). */
  adminToken: string | null;
  /** PAYMENT_GATEWAY: manual | test | webhook. @defaultValue `manual` */
  paymentGateway: PaymentGatewayName;
  paymentWebhookUrl: string | null;
  paymentWebhookSecret: string | null;
  /** EVENTS_WEBHOOK_URL: where lifecycle events are POSTed (Standard Webhooks); unset: events are only served by the feed. @defaultValue unset */
  eventsWebhookUrl: string | null;
  /** EVENTS_WEBHOOK_SECRET: `whsec_` + base64 key signing each event; required with EVENTS_WEBHOOK_URL. */
  eventsWebhookSecret: string | null;
  /** HTTP_CONNECT_TIMEOUT_MS: an outbound webhook's connection (TCP and TLS) must be up within this. @defaultValue 5000 */
  httpConnectTimeoutMs: number;
  /** HTTP_TIMEOUT_MS: an outbound webhook's whole exchange, answer included, must end within this. @defaultValue 15000 */
  httpTimeoutMs: number;
  /** LOG_LEVEL: pino level. @defaultValue `info` */
  logLevel: string;
}

export const defaultBillToUrl = 'https://partner.microsoft.com/dashboard/account/v3/organization/legalinfo';

export const defaultPaymentInstructions: Readonly<Record<'en' | 'zh-TW', string>> = {
  en: 'Pay by bank transfer to the account shown on the invoice. You can download the invoice from the Membership offers page in Partner Center.',
  'zh-TW': '請以銀行轉帳支付至發票上所列的帳戶。您可以在合作夥伴中心的「成員資格供應項目」頁面下載發票。',
};

/** Standard Webhooks secrets: `whsec_` and the base64 of the key. */
function isEventsSecret(value: string): boolean {
  const match = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(value);
  if (!match) return false;
  const bytes = Buffer.from(match[1]!, 'base64').length;
  return bytes >= 24 && bytes <= 64;
}

/** An instruction set in an environment variable: `\n` (backslash, n) is a line break. */
function readInstructions(value: string | null): string | null {
  return value === null ? null : value.replace(/\\n/g, '\n');
}

/** pino's levels, and `silent`. */
const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Why cron-parser (BullMQ's) refuses a pattern, or null when it takes it. */
function findCronProblem(pattern: string, timeZone: string): string | null {
  try {
    CronExpressionParser.parse(pattern, { tz: timeZone });
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** A bootstrap token anyone could guess would make every named token's role moot. */
export const minAdminTokenLength = 24;

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

type Env = Record<string, string | undefined>;

function isUrl(value: string, protocols: string[]): boolean {
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** Parses the environment; every problem is one line naming the variable, the value and what is expected. */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const problems: string[] = [];
  const text = (name: string): string | null => {
    const value = env[name]?.trim();
    return value ? value : null;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const value = text(name);
    if (value === null) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}=${value}: expected a whole number from ${min} to ${max}`);
      return fallback;
    }
    return n;
  };
  // A URL may carry a password: a problem shows it with its user-info hidden (redactUrl).
  const url = (name: string, protocols: string[]): string | null => {
    const value = text(name);
    if (value !== null && !isUrl(value, protocols)) {
      problems.push(`${name}=${redactUrl(value)}: expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`);
    }
    return value;
  };
  /** SPEC §9: an outbound webhook never sends credentials from its URL (they would go to whoever answers). */
  const urlWithoutCredentials = (name: string): string | null => {
    const value = url(name, ['http:', 'https:']);
    if (value !== null && isUrl(value, ['http:', 'https:'])) {
      const parsed = new URL(value);
      if (parsed.username || parsed.password) {
        const secretName = name.replace(/_URL$/, '_SECRET');
        problems.push(`${name}=${redactUrl(value)}: credentials in the URL are refused; authenticate with the signature (${secretName})`);
      }
    }
    return value;
  };

  const timeZone = text('LIFECYCLE_TZ') ?? 'UTC';
  if (!isTimeZone(timeZone)) problems.push(`LIFECYCLE_TZ=${timeZone}: not an IANA time zone name (e.g. UTC, Asia/Taipei)`);
  const scanCron = text('SCAN_CRON') ?? '0 6 * * *';
  const cronFields = scanCron.split(/\s+/).length;
  if (cronFields < 5 || cronFields > 6) problems.push(`SCAN_CRON=${scanCron}: expected a cron pattern of 5 or 6 fields, e.g. "0 6 * * *"`);
  else {
    // The parser BullMQ schedules with: a pattern it refuses would otherwise stop the daemon after Redis started, naming no variable.
    const cronProblem = findCronProblem(scanCron, isTimeZone(timeZone) ? timeZone : 'UTC');
    if (cronProblem) problems.push(`SCAN_CRON=${scanCron}: ${cronProblem}, e.g. "0 6 * * *"`);
  }
  const paymentGateway = (text('PAYMENT_GATEWAY') ?? 'manual') as PaymentGatewayName;
  if (!['manual', 'test', 'webhook'].includes(paymentGateway)) {
    problems.push(`PAYMENT_GATEWAY=${paymentGateway}: expected manual, test or webhook`);
  }
  const paymentWebhookUrl = urlWithoutCredentials('PAYMENT_WEBHOOK_URL');
  const paymentWebhookSecret = text('PAYMENT_WEBHOOK_SECRET');
  if (paymentGateway === 'webhook') {
    if (!paymentWebhookUrl) problems.push('PAYMENT_WEBHOOK_URL: required when PAYMENT_GATEWAY=webhook');
    if (!paymentWebhookSecret) problems.push('PAYMENT_WEBHOOK_SECRET: required when PAYMENT_GATEWAY=webhook');
  }
  const eventsWebhookUrl = urlWithoutCredentials('EVENTS_WEBHOOK_URL');
  const eventsWebhookSecret = text('EVENTS_WEBHOOK_SECRET');
  if (eventsWebhookUrl && !eventsWebhookSecret) problems.push('EVENTS_WEBHOOK_SECRET: required when EVENTS_WEBHOOK_URL is set (whsec_ followed by a base64 key, e.g. whsec_$(openssl rand -base64 32))');
  if (eventsWebhookSecret && !isEventsSecret(eventsWebhookSecret)) {
    problems.push('EVENTS_WEBHOOK_SECRET: expected whsec_ followed by a base64 key of 24 to 64 bytes (e.g. whsec_$(openssl rand -base64 32))');
  }
  const mailDomain = text('MAIL_DOMAIN') ?? 'membership-lifecycle.local';
  if (!/^[A-Za-z0-9.-]+$/.test(mailDomain)) problems.push(`MAIL_DOMAIN=${mailDomain}: expected a domain name`);
  const queuePrefix = text('QUEUE_PREFIX') ?? 'lifecycle';
  if (!/^[A-Za-z0-9_{}-]+$/.test(queuePrefix)) problems.push(`QUEUE_PREFIX=${queuePrefix}: letters, digits, _ - { } only`);
  const smtpMax = text('SMTP_MAX_PER_SECOND');
  const adminHost = text('ADMIN_HOST') ?? '127.0.0.1';
  const adminToken = text('ADMIN_TOKEN');
  const isLoopback = ['127.0.0.1', '::1', 'localhost'].includes(adminHost);
  // The length only, never the value: a config error must not print the secret.
  const adminTokenLength = adminToken === null ? 0 : [...adminToken].length;
  if (adminToken !== null && adminTokenLength < minAdminTokenLength) {
    problems.push(`ADMIN_TOKEN: ${adminTokenLength} characters, at least ${minAdminTokenLength} (e.g. openssl rand -base64 32)`);
  }
  if (!isLoopback && !adminToken) problems.push(`ADMIN_HOST=${adminHost}: listening beyond loopback needs ADMIN_TOKEN`);

  // Without an address nodemailer would send every notice from the null sender `<>`, as a bounce is.
  const readMailFrom = (): string => {
    const value = text('MAIL_FROM') ?? 'Partner Program <no-reply@membership-lifecycle.local>';
    const addresses = addressparser(value, { flatten: true });
    if (addresses.length !== 1 || !/^[^\s@]+@[^\s@]+$/.test(addresses[0]!.address)) {
      problems.push(`MAIL_FROM=${value}: expected one address, e.g. "Partner Program <no-reply@example.com>"`);
    }
    return value;
  };
  const readLogLevel = (): string => {
    const value = text('LOG_LEVEL') ?? 'info';
    if (!logLevels.includes(value)) problems.push(`LOG_LEVEL=${value}: expected one of ${logLevels.join(', ')}`);
    return value;
  };

  const dataDir = path.resolve(text('LIFECYCLE_DATA_DIR') ?? 'data');
  const databaseUrl = url('DATABASE_URL', ['postgres:', 'postgresql:']);
  const config: Config = {
    dataDir,
    database: databaseUrl === null ? { kind: 'sqlite', file: path.join(dataDir, sqliteFileName) } : { kind: 'postgres', url: databaseUrl },
    timeZone,
    redisUrl: url('REDIS_URL', ['redis:', 'rediss:']),
    queuePrefix,
    smtpUrl: url('SMTP_URL', ['smtp:', 'smtps:']),
    smtpMaxPerSecond: smtpMax === null ? null : integer('SMTP_MAX_PER_SECOND', 0, 1, 100_000),
    smtpMaxConnections: integer('SMTP_MAX_CONNECTIONS', 5, 1, 100),
    mailFrom: readMailFrom(),
    mailDomain,
    renewUrl: url('RENEW_URL', ['http:', 'https:']) ?? 'https://partner.microsoft.com/dashboard/account/v3/membership/offers',
    supportUrl: url('SUPPORT_URL', ['http:', 'https:']) ?? 'https://partner.microsoft.com/support',
    billToUrl: url('BILL_TO_URL', ['http:', 'https:']) ?? defaultBillToUrl,
    paymentInstructions: {
      en: readInstructions(text('PAYMENT_INSTRUCTIONS')) ?? defaultPaymentInstructions.en,
      'zh-TW': readInstructions(text('PAYMENT_INSTRUCTIONS_ZH_TW') ?? text('PAYMENT_INSTRUCTIONS')) ?? defaultPaymentInstructions['zh-TW'],
    },
    scanCron,
    workerConcurrency: integer('WORKER_CONCURRENCY', 8, 1, 256),
    jobAttempts: integer('JOB_ATTEMPTS', 8, 1, 100),
    jobBackoffMs: integer('JOB_BACKOFF_MS', 5_000, 1, 3_600_000),
    jobLockMs: integer('JOB_LOCK_MS', 30_000, 1_000, 3_600_000),
    shutdownTimeoutMs: integer('SHUTDOWN_TIMEOUT_MS', 20_000, 0, 600_000),
    adminHost,
    adminPort: integer('ADMIN_PORT', 8787, 0, 65_535),
    adminToken,
    paymentGateway,
    paymentWebhookUrl,
    paymentWebhookSecret,
    eventsWebhookUrl,
    eventsWebhookSecret,
    httpConnectTimeoutMs: integer('HTTP_CONNECT_TIMEOUT_MS', 5_000, 100, 600_000),
    httpTimeoutMs: integer('HTTP_TIMEOUT_MS', 15_000, 100, 600_000),
    logLevel: readLogLevel(),
  };
  // Even a configuration refused: its secrets must not show in what follows (error lines, logs).
  rememberSecrets(secretValuesOf(env));
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

/** The SQLite database's name in the data dir. */
export const sqliteFileName = 'lifecycle.db';

/** What `connectStore` (src/store/db.ts) opens for this configuration. */
export function storeTarget(config: Pick<Config, 'database'>): { file: string } | { url: string } {
  return config.database.kind === 'sqlite' ? { file: config.database.file } : { url: config.database.url };
}

/** Every secret the environment holds: URL passwords, tokens, the webhook secret (see src/redact.ts). */
function secretValuesOf(env: Env): string[] {
  const urls = ['REDIS_URL', 'SMTP_URL', 'PAYMENT_WEBHOOK_URL', 'EVENTS_WEBHOOK_URL'].flatMap((name) => secretsOfUrl(env[name]?.trim()));
  urls.push(...secretsOfUrl(env.DATABASE_URL?.trim(), { isUserSecret: false }));
  const values = ['ADMIN_TOKEN', 'PAYMENT_WEBHOOK_SECRET', 'EVENTS_WEBHOOK_SECRET'].map((name) => env[name]?.trim() ?? '');
  return [...urls, ...values];
}
