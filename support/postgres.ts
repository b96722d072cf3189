import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

/**
 * PostgreSQL for tests and benches: each test file makes its own database with a unique name on
 * the server TEST_DATABASE_URL names, and drops it afterwards; nothing else on the server is touched.
 */

export const defaultTestDatabaseUrl = 'postgres://postgres@127.0.0.1:5432/postgres';

/** The server's URL (a user that may CREATE DATABASE, and a database to connect to for that). */
export function testDatabaseUrl(): string {
  return process.env.TEST_DATABASE_URL?.trim() || defaultTestDatabaseUrl;
}

/** A URL for messages: host, port and database, never the user's password. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.hostname}${parsed.port ? `:${parsed.port}` : ''}${parsed.pathname}`;
  } catch {
    return '(an unparsable URL)';
  }
}

export type PostgresAvailability = { isAvailable: true; url: string } | { isAvailable: false; url: string; reason: string };

let probe: Promise<PostgresAvailability> | undefined;

/** Whether PostgreSQL answers at TEST_DATABASE_URL (asked once per process). */
export function probePostgres(): Promise<PostgresAvailability> {
  probe ??= (async (): Promise<PostgresAvailability> => {
    const url = testDatabaseUrl();
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
    client.on('error', () => {});
    try {
      await client.connect();
      const { rows } = await client.query<{ version: string }>("SELECT current_setting('server_version_num') AS version");
      const version = Number(rows[0]?.version ?? 0);
      if (version < 150000) return { isAvailable: false, url, reason: `server version ${version} is older than PostgreSQL 15` };
      return { isAvailable: true, url };
    } catch (error) {
      const reason = (error as Error).message || String((error as { code?: unknown }).code ?? error);
      return { isAvailable: false, url, reason: reason.split(url).join(describeUrl(url)) };
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return probe;
}

/** How to turn the PostgreSQL suites on, in one line. */
function skipLine(availability: Extract<PostgresAvailability, { isAvailable: false }>): string {
  return (
    `PostgreSQL suites skipped: ${describeUrl(availability.url)} did not answer (${availability.reason}); ` +
    'start PostgreSQL there or set TEST_DATABASE_URL=postgres://USER[:PASSWORD]@HOST:PORT/DB (a user that may create databases)'
  );
}

/**
 * Whether the PostgreSQL suites run: true when the server answers. When it does not, under
 * CI=true this throws (CI must run them); elsewhere it says once per test run how to enable
 * them and returns false, and the suites skip (`describe.skipIf(!(await isPostgresTested()))`).
 */
export async function isPostgresTested(): Promise<boolean> {
  const availability = await probePostgres();
  if (availability.isAvailable) return true;
  if (process.env.CI === 'true') {
    throw new Error(`PostgreSQL at ${describeUrl(availability.url)} did not answer (${availability.reason}), and CI=true: the PostgreSQL suites must run (set TEST_DATABASE_URL or start PostgreSQL)`);
  }
  // Test files run in forks of one vitest process: the line is printed by the first of them only.
  const marker = path.join(tmpdir(), `lifecycle-pg-skip-${process.ppid}`);
  if (!existsSync(marker)) {
    try {
      writeFileSync(marker, '', { flag: 'wx' });
      process.stderr.write(`${skipLine(availability)}\n`);
    } catch {
      // Another test file of this run said it first.
    }
  }
  return false;
}

export interface TestDatabase {
  readonly name: string;
  /** The new database's URL (the server's user and password, this database). */
  readonly url: string;
  /** Drops it, closing whatever connections are still open on it. */
  drop(): Promise<void>;
}

/** Names this module gives: `lifecycle_t_<pid>_<random>`; the pid tells a leftover from a live one. */
const namePattern = /^lifecycle_t_(\d+)_[0-9a-f]{8}$/;

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testDatabaseUrl(), connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

let leftoversDropped = false;

export interface TestDatabaseOptions {
  /**
   * Sort text by this ICU locale (`en-US`) instead of the server's default locale, when the server
   * has ICU (see `hasIcu`): a database whose default collation does not compare bytes.
   */
  icuLocale?: string;
}

/** Whether the test server was built with ICU (it then has ICU collations such as `und-x-icu`). */
export async function hasIcu(): Promise<boolean> {
  return withAdmin(async (client) => {
    const { rows } = await client.query<{ found: boolean }>(`SELECT EXISTS (SELECT 1 FROM pg_collation WHERE collprovider = 'i') AS found`);
    return rows[0]?.found === true;
  });
}

/**
 * A new, empty database on the test server, uniquely named. Throws when the server does not
 * answer: call `isPostgresTested()` first to skip instead. The first call in a process also drops
 * the databases of earlier test processes that died before dropping theirs.
 */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const availability = await probePostgres();
  if (!availability.isAvailable) throw new Error(skipLine(availability));
  const name = `lifecycle_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withAdmin(async (client) => {
    if (!leftoversDropped) {
      leftoversDropped = true;
      const { rows } = await client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'lifecycle\\_t\\_%'`);
      for (const { datname } of rows) {
        const pid = Number(namePattern.exec(datname)?.[1] ?? NaN);
        if (Number.isInteger(pid) && pid !== process.pid && !isProcessAlive(pid)) {
          await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => {});
        }
      }
    }
    const locale = options.icuLocale === undefined ? '' : ` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE ${client.escapeLiteral(options.icuLocale)}`;
    await client.query(`CREATE DATABASE "${name}"${locale}`);
  });
  const url = new URL(availability.url);
  url.pathname = `/${name}`;
  let isDropped = false;
  return {
    name,
    url: url.toString(),
    async drop() {
      if (isDropped) return;
      isDropped = true;
      await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}
