import { loadConfig, storeTarget, type Config } from '../config.js';
import { connectStore } from '../store/db.js';
import type { Store } from '../store/executor.js';
import { todayIn } from '../policy/dates.js';
import { isIsoDate } from '../policy/dates.js';
import { InputError } from '../errors.js';

/** What a command needs, opened on first use so `--help` touches nothing. */
export interface CliContext {
  readonly config: Readonly<Config>;
  /** The configured store, created (and migrated) when missing: for the commands that write data in (import, tokens create). */
  store(): Promise<Store>;
  /**
   * The configured store for commands that need one to exist (reads, operator actions): never
   * created, one error line when missing. SQLite: the file must exist. PostgreSQL: the database
   * must exist, be reachable and hold the schema (a database no daemon or import ever migrated is
   * refused, nothing is created in it). Either is then migrated forward, like the daemon's.
   */
  existingStore(): Promise<Store>;
  /** Today in LIFECYCLE_TZ, or the --as-of date. */
  asOf(value: string | undefined): string;
  close(): Promise<void>;
  onClose(close: () => Promise<void> | void): void;
}

export function createContext(): CliContext {
  let config: Readonly<Config> | undefined;
  let store: Promise<Store> | undefined;
  const closers: (() => Promise<void> | void)[] = [];
  const context: CliContext = {
    get config() {
      config ??= loadConfig();
      return config;
    },
    store() {
      store ??= connectStore(storeTarget(context.config), { max: 2, applicationName: 'lifecycle cli' });
      return store;
    },
    existingStore() {
      store ??= connectStore(storeTarget(context.config), { mode: 'existing', max: 2, applicationName: 'lifecycle cli' });
      return store;
    },
    asOf(value) {
      if (value === undefined) return todayIn(context.config.timeZone, new Date());
      if (!isIsoDate(value)) throw new InputError(`--as-of ${value}: not a real calendar date (expected YYYY-MM-DD)`);
      return value;
    },
    onClose(close) {
      closers.push(close);
    },
    async close() {
      for (const close of closers.reverse()) await close();
      // A store that failed to open has nothing to close (its error is the command's).
      await (await store?.catch(() => undefined))?.close();
    },
  };
  return context;
}

export function parseDate(flag: string, value: string): string {
  if (!isIsoDate(value)) throw new InputError(`${flag} ${value}: not a real calendar date (expected YYYY-MM-DD)`);
  return value;
}

export function printJson(value: unknown): void {
  // JSON escapes C0 controls itself; DEL, C1 and bidirectional controls are escaped too, as `\u…`.
  const text = JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  process.stdout.write(`${text}\n`);
}
