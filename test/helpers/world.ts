import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { PaymentGateway } from '../../src/billing/gateway.js';
import { loadConfig, type Config } from '../../src/config.js';
import { importFile } from '../../src/import/import-file.js';
import { addDays } from '../../src/policy/dates.js';
import { createApp, type App } from '../../src/app.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { sql, type SQL } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { databaseFile, openStore } from '../../src/store/db.js';
import type { SqliteStore as Store } from '../../src/store/sqlite.js';
import type { Store as AnyStore } from '../../src/store/executor.js';
import type { Logger } from '../../src/log.js';
import type { StoreBackend, StorePlace } from '../../support/backends.js';
import { startTestRedis, type TestRedis } from './redis.js';
import { startSmtpServer, type SmtpTestServer } from './smtp.js';

let prefixCounter = 0;

export interface SubscriptionSpec {
  id: string;
  anniversaryOn: string;
  offer?: 'action_pack' | 'competency';
  autoRenew?: boolean;
  token?: string;
  bankTransfer?: boolean;
  partnerId?: string;
}

export interface PartnerSpec {
  id: string;
  /** Contacts with a purchasing role; 0 makes every notice undeliverable. */
  contacts?: number;
  locale?: string;
}

/** Writes SPEC §2 JSON for the specs (purchase one year before the anniversary). */
export function writeDataset(dir: string, subscriptions: SubscriptionSpec[], partners: PartnerSpec[] = [{ id: 'P-1' }]): string {
  const file = path.join(dir, `data-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  const json = {
    partners: partners.map((p) => ({
      id: p.id,
      name: `Partner ${p.id}`,
      locale: p.locale ?? 'en',
      migratedToPartnerCenter: true,
      billTo: { line1: '1 Test Rd', city: 'Taipei', postalCode: '100', country: 'TW' },
      contacts: Array.from({ length: p.contacts ?? 1 }, (_, i) => ({ name: `Admin ${i}`, email: `admin${i}@${p.id.toLowerCase()}.example`, role: 'global_admin' })),
    })),
    subscriptions: subscriptions.map((s) => ({
      id: s.id,
      partnerId: s.partnerId ?? partners[0]!.id,
      offer: s.offer ?? 'action_pack',
      ...(s.offer === 'competency' ? { competency: { area: 'Cloud Platform', level: 'gold' }, requirementsMet: true } : {}),
      purchasedOn: addDays(s.anniversaryOn, -365),
      anniversaryOn: s.anniversaryOn,
      autoRenew: s.autoRenew ?? false,
      ...(s.bankTransfer
        ? { payment: { method: 'bank_transfer', contactName: 'AP', phone: '1', email: 'ap@example.com' } }
        : s.token
          ? { payment: { method: 'credit_card', token: s.token } }
          : {}),
    })),
  };
  writeFileSync(file, JSON.stringify(json));
  return file;
}

export interface LedgerRow {
  subscription: string;
  action: string;
  anniversary: string;
  outcome: string;
  id: number;
}

/** A world's store: the SQLite file of its data dir by default, or any backend's (`createWorld(…, backend)`). */
export interface World<S extends AnyStore = Store> {
  dir: string;
  config: Readonly<Config>;
  store: S;
  /** Where the store lives when a backend made it (dropped by close()); null for the data dir's SQLite file. */
  place: StorePlace | null;
  /** The program day the runtime's clock reports. */
  today: string;
  prefix: string;
  import(subscriptions: SubscriptionSpec[], partners?: PartnerSpec[]): Promise<void>;
  startRuntime(options?: { hasWorkers?: boolean; gateway?: PaymentGateway; log?: Logger }): Promise<Runtime>;
  ledger(): Promise<LedgerRow[]>;
  /** The first column of the query's first row (a count: a number on both backends), or null. */
  value<T = unknown>(query: SQL): Promise<T | null>;
  close(): Promise<void>;
}

/**
 * A temp data dir, config from an env map, runtimes on a real Redis; the store is the data dir's
 * SQLite file, or with a backend a new place of its own (for PostgreSQL a new database, named
 * to the config by DATABASE_URL as an operator would).
 */
export async function createWorld(env: Record<string, string>, today: string): Promise<World<Store>>;
export async function createWorld(env: Record<string, string>, today: string, backend: StoreBackend): Promise<World<AnyStore>>;
export async function createWorld(env: Record<string, string>, today: string, backend?: StoreBackend): Promise<World<AnyStore>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifecycle-test-'));
  const prefix = `t${process.pid}x${++prefixCounter}x${Date.now()}`;
  // SQLite stays the data dir's own file (CLI commands run on the dir find it); PostgreSQL is a new database.
  const place = backend && backend.name !== 'sqlite' ? await backend.create() : null;
  const config = loadConfig({
    LIFECYCLE_DATA_DIR: dir,
    PAYMENT_GATEWAY: 'test',
    QUEUE_PREFIX: prefix,
    JOB_BACKOFF_MS: '50',
    JOB_LOCK_MS: '2000',
    WORKER_CONCURRENCY: '4',
    ADMIN_PORT: '0',
    ...(place ? { DATABASE_URL: place.address } : {}),
    ...env,
  });
  const store: AnyStore = place ? await place.connect() : openStore(databaseFile(dir));
  const runtimes: Runtime[] = [];
  const apps: App[] = [];
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const world: World<AnyStore> = {
    dir,
    config,
    store,
    place,
    today,
    prefix,
    async import(subscriptions, partners) {
      await importFile(store, writeDataset(dir, subscriptions, partners), new Date());
    },
    async startRuntime(options = {}) {
      if (options.hasWorkers === undefined && options.gateway === undefined) {
        // A daemon's parts, as `lifecycle start` wires them (src/app.ts), on the world's store and clock.
        const app = await createApp(config, { role: 'daemon', log: options.log ?? log, store, today: () => world.today });
        apps.push(app);
        return app.runtime!;
      }
      // Parts no deployment has: a producer without workers, a gateway that counts or fails.
      const url = new URL(config.redisUrl!);
      const runtime = await startRuntime({
        config,
        store,
        log,
        connection: { host: url.hostname, port: Number(url.port) },
        today: () => world.today,
        now: () => new Date(),
        ...options,
      });
      runtimes.push(runtime);
      return runtime;
    },
    ledger() {
      return store.all<LedgerRow>(
        sql`SELECT id, subscription_id AS subscription, action, anniversary_on AS anniversary, outcome FROM actions ORDER BY id`,
      );
    },
    async value<T>(query: SQL) {
      const row = await store.get<Record<string, unknown>>(query);
      return row === undefined ? null : ((Object.values(row)[0] ?? null) as T | null);
    },
    async close() {
      for (const runtime of runtimes) {
        await runtime.queues.actions.obliterate({ force: true }).catch(() => {});
        await runtime.close(2_000);
      }
      for (const app of apps) {
        await app.runtime!.queues.actions.obliterate({ force: true }).catch(() => {});
        await app.close(2_000);
      }
      if (place) await place.drop();
      else await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return world;
}

/** For `Worlds.create`: SMTP_URL empty is unset, and the world writes its messages to its outbox. */
export const outboxMail = { SMTP_URL: '' };

export interface Worlds {
  readonly redis: TestRedis;
  /** The file's SMTP server; there is none under `useWorlds({ hasSmtp: false })`. */
  readonly smtp: SmtpTestServer;
  /** A world on the file's redis-server and SMTP server (`env` overrides either: `outboxMail`), closed after the test. */
  create(env: Record<string, string>, today: string): Promise<World<Store>>;
  create(env: Record<string, string>, today: string, backend: StoreBackend | undefined): Promise<World<AnyStore>>;
  /** Closes `item` after the test, before whatever was opened earlier (an admin API before its world). */
  closeAfterTest<T extends { close(): Promise<void> }>(item: T): T;
}

/**
 * The set-up the integration test files share: one redis-server and (unless `hasSmtp: false`:
 * the worlds then write to their outbox) one SMTP server per file; the worlds, and whatever else
 * a test hands to `closeAfterTest`, closed after each test, the last opened first, even when it fails.
 */
export function useWorlds(options: { hasSmtp?: boolean } = {}): Worlds {
  let redis: TestRedis | undefined;
  let smtp: SmtpTestServer | undefined;
  const opened: { close(): Promise<void> }[] = [];
  beforeAll(async () => {
    [redis, smtp] = await Promise.all([startTestRedis(), options.hasSmtp === false ? undefined : startSmtpServer()]);
  });
  afterAll(async () => {
    await Promise.all([redis?.stop(), smtp?.stop()]);
  });
  afterEach(async () => {
    for (const item of opened.splice(0).reverse()) await item.close();
  });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`useWorlds: no ${what} (outside a test, or hasSmtp: false?)`);
    return value;
  };
  function closeAfterTest<T extends { close(): Promise<void> }>(item: T): T {
    opened.push(item);
    return item;
  }
  async function create(env: Record<string, string>, today: string): Promise<World<Store>>;
  async function create(env: Record<string, string>, today: string, backend: StoreBackend | undefined): Promise<World<AnyStore>>;
  async function create(env: Record<string, string>, today: string, backend?: StoreBackend): Promise<World<AnyStore>> {
    const settings = { REDIS_URL: started(redis, 'redis-server').url, ...(smtp ? { SMTP_URL: smtp.url } : {}), ...env };
    return closeAfterTest(backend ? await createWorld(settings, today, backend) : await createWorld(settings, today));
  }
  return {
    get redis() {
      return started(redis, 'redis-server');
    },
    get smtp() {
      return started(smtp, 'SMTP server');
    },
    create,
    closeAfterTest,
  };
}
