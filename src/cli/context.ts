import { loadConfig, type Config } from '../config.js';
import { databaseFile, openStore } from '../store/db.js';
import type { Store } from '../store/executor.js';
import { todayIn } from '../policy/dates.js';
import { isIsoDate } from '../policy/dates.js';
import { InputError } from '../errors.js';

/** What a command needs, opened on first use so `--help` touches nothing. */
export interface CliContext {
  readonly config: Readonly<Config>;
  readonly store: Store;
  /** The configured database for commands that need one to exist (reads, operator actions): never created, `no database at …` when missing. */
  readonly existingStore: Store;
  /** Today in LIFECYCLE_TZ, or the --as-of date. */
  asOf(value: string | undefined): string;
  close(): Promise<void>;
  onClose(close: () => Promise<void> | void): void;
}

export function createContext(): CliContext {
  let config: Readonly<Config> | undefined;
  let store: Store | undefined;
  const closers: (() => Promise<void> | void)[] = [];
  const context: CliContext = {
    get config() {
      config ??= loadConfig();
      return config;
    },
    get store() {
      store ??= openStore(databaseFile(context.config.dataDir));
      return store;
    },
    get existingStore() {
      store ??= openStore(databaseFile(context.config.dataDir), { mode: 'existing' });
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
      await store?.close();
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
