import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, repoRoot, runLifecycle } from '../helpers/cli.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { startSmtpServer, type SmtpTestServer } from '../helpers/smtp.js';

const examples = path.join(repoRoot, 'examples/subscriptions.json');
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifecycle-sandbox-test-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Every file under `dir` with the SHA-256 of its content, so that "nothing changed" can be compared. */
function fingerprint(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    files[path.relative(dir, file)] = createHash('sha256').update(readFileSync(file)).digest('hex');
  }
  return files;
}

function hashFile(file: string): string | null {
  return existsSync(file) ? createHash('sha256').update(readFileSync(file)).digest('hex') : null;
}

describe('simulate is a sandbox', () => {
  let smtp: SmtpTestServer;
  let redis: TestRedis;
  beforeAll(async () => {
    [smtp, redis] = await Promise.all([startSmtpServer(), startTestRedis()]);
  });
  afterAll(async () => {
    await Promise.all([smtp?.stop(), redis?.stop()]);
  });

  it('copies the data into --into DIR and runs there: the configured database, SMTP_URL and REDIS_URL are untouched', async () => {
    const dataDir = tempDir();
    const sandbox = path.join(tempDir(), 'sandbox');
    const env = { PAYMENT_GATEWAY: 'test', SMTP_URL: smtp.url, REDIS_URL: redis.url };
    expect((await runLifecycle(['import', examples], { dataDir, env })).status).toBe(0);
    // A connection held open with a committed change still in the WAL, as a running daemon has:
    // the copy must include it, and neither the .db nor the -wal file may change.
    const live = new Database(path.join(dataDir, 'lifecycle.db'));
    live.pragma('wal_autocheckpoint = 0');
    live.prepare("UPDATE partners SET name = 'Contoso (renamed in the WAL)' WHERE id = (SELECT partner_id FROM subscriptions WHERE id = 'S-1')").run();
    const before = { db: hashFile(path.join(dataDir, 'lifecycle.db')), wal: hashFile(path.join(dataDir, 'lifecycle.db-wal')) };
    expect(before.wal).not.toBeNull();
    const probe = new Redis(redis.url);
    try {
      const keysBefore = await probe.dbsize();
      const result = await runLifecycle(['simulate', '--from', '2019-08-31', '--to', '2019-09-05', '--into', sandbox, '--json'], { dataDir, env, timeoutMs: 60_000 });
      expect(result.stderr).not.toContain('error:');
      expect(result.status).toBe(0);
      const { days } = JSON.parse(result.stdout) as { days: { date: string; actions: { subscription: string; action: string; outcome: string }[] }[] };
      expect(days.find((d) => d.date === '2019-09-01')!.actions.map((a) => `${a.subscription} ${a.action} ${a.outcome}`)).toEqual(['S-1 auto-renew renewed']);
      expect(result.stderr).toContain(`sandbox in ${sandbox}`);
      expect(result.stderr).toContain(`LIFECYCLE_DATA_DIR=${path.relative(repoRoot, sandbox).startsWith('..') ? sandbox : path.relative(repoRoot, sandbox)} lifecycle show`);

      expect({ db: hashFile(path.join(dataDir, 'lifecycle.db')), wal: hashFile(path.join(dataDir, 'lifecycle.db-wal')) }).toEqual(before);
      expect(existsSync(path.join(dataDir, 'outbox'))).toBe(false);
      expect(smtp.messages).toHaveLength(0);
      expect(await probe.dbsize()).toBe(keysBefore);
      const emails = readdirSync(path.join(sandbox, 'outbox')).filter((f) => f.endsWith('.eml'));
      expect(emails).toContain('auto-renew-receipt.S-1.2019-09-01.eml');
      expect(readFileSync(path.join(sandbox, 'outbox', 'remind-before.S-1.2019-09-01.eml'), 'utf8')).toContain('Contoso (renamed in the WAL)');
    } finally {
      probe.disconnect();
      live.close();
    }

    // The sandbox reads like any data dir; the configured data still has no action at all.
    const inSandbox = JSON.parse((await runLifecycle(['show', 'S-1', '--json'], { dataDir: sandbox, env: {} })).stdout) as { actions: { action: string; outcome: string }[] };
    expect(inSandbox.actions.map((a) => `${a.action} ${a.outcome}`)).toEqual(['remind-before sent', 'auto-renew renewed']);
    const configured = JSON.parse((await runLifecycle(['show', 'S-1', '--json'], { dataDir, env: {} })).stdout) as { actions: unknown[] };
    expect(configured.actions).toEqual([]);
  });

  it('calls no payment webhook and no events webhook: a rehearsed renewal charges no card; with PAYMENT_GATEWAY=webhook it waits for payment as with manual', async () => {
    const requests: string[] = [];
    // A real payment endpoint that would say every charge is paid.
    const server = createServer((request, response) => {
      requests.push(`${request.method} ${request.url}`);
      request.resume();
      response.setHeader('content-type', 'application/json').end('{"status":"paid","reference":"ch_real"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const env = {
        PAYMENT_GATEWAY: 'webhook',
        PAYMENT_WEBHOOK_URL: `${base}/charge`,
        PAYMENT_WEBHOOK_SECRET: 'a-payment-webhook-secret-of-some-length',
        EVENTS_WEBHOOK_URL: `${base}/events`,
        EVENTS_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
      };
      const dataDir = tempDir();
      expect((await runLifecycle(['import', examples], { dataDir, env })).status).toBe(0);
      const result = await runLifecycle(['simulate', '--from', '2019-08-31', '--to', '2019-09-02', '--into', path.join(tempDir(), 'sandbox'), '--json'], { dataDir, env, timeoutMs: 60_000 });
      expect(errorLines(result.stderr)).toEqual([]);
      expect(result.status).toBe(0);
      const { days } = JSON.parse(result.stdout) as { days: { date: string; actions: { subscription: string; action: string; outcome: string }[] }[] };
      expect(days.find((d) => d.date === '2019-09-01')!.actions.map((a) => `${a.subscription} ${a.action} ${a.outcome}`)).toEqual(['S-1 auto-renew pending-payment']);
      expect(requests).toEqual([]);
      expect(result.stderr).toContain('PAYMENT_GATEWAY=webhook is not called');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('leaves the database and WAL a crashed daemon left byte-for-byte as they were (no checkpoint), and defaults to a new temporary directory', async () => {
    const dataDir = tempDir();
    const scratch = tempDir();
    expect((await runLifecycle(['import', examples], { dataDir })).status).toBe(0);
    // A writer killed with frames still in the WAL and no connection left: the next read-write
    // connection would checkpoint them into the .db file on close. A read-only one must not.
    const crash = spawnSync(
      process.execPath,
      [
        '-e',
        `const db = new (require('better-sqlite3'))(process.argv[1]); db.pragma('wal_autocheckpoint = 0');
         db.prepare("UPDATE partners SET name = 'Renamed by a crashed daemon' WHERE id = (SELECT partner_id FROM subscriptions WHERE id = 'S-1')").run();
         process.kill(process.pid, 'SIGKILL');`,
        path.join(dataDir, 'lifecycle.db'),
      ],
      { cwd: repoRoot },
    );
    expect(crash.signal).toBe('SIGKILL');
    const before = { db: hashFile(path.join(dataDir, 'lifecycle.db')), wal: hashFile(path.join(dataDir, 'lifecycle.db-wal')) };
    expect(before.wal).not.toBe(hashFile('/dev/null'));

    const result = await runLifecycle(['simulate', '--from', '2019-08-31', '--to', '2019-09-01'], { dataDir, env: { TMPDIR: scratch }, timeoutMs: 60_000 });
    expect(result.status).toBe(0);
    expect({ db: hashFile(path.join(dataDir, 'lifecycle.db')), wal: hashFile(path.join(dataDir, 'lifecycle.db-wal')) }).toEqual(before);
    const [sandbox] = readdirSync(scratch).filter((name) => name.startsWith('lifecycle-sandbox-'));
    expect(sandbox).toBeDefined();
    expect(result.stderr).toContain(`sandbox in ${path.join(scratch, sandbox!)}`);
    expect(result.stdout).toContain('2019-09-01\n  auto-renew    S-1');
    // The copy is what was committed, WAL included.
    expect(readFileSync(path.join(scratch, sandbox!, 'outbox', 'remind-before.S-1.2019-09-01.eml'), 'utf8')).toContain('Renamed by a crashed daemon');
  });

  it('refuses an --into DIR that is not empty, an --into-database it cannot reach and a missing database, changing nothing', async () => {
    const dataDir = tempDir();
    const foreign = tempDir();
    writeFileSync(path.join(foreign, 'notes.txt'), 'mine');
    expect((await runLifecycle(['import', examples], { dataDir })).status).toBe(0);
    const data = fingerprint(dataDir);

    const notEmpty = await runLifecycle(['simulate', '--from', '2019-08-31', '--to', '2019-09-01', '--into', foreign], { dataDir });
    expect(notEmpty.status).toBe(1);
    expect(errorLines(notEmpty.stderr)).toEqual([`error: --into ${foreign}: exists and is not empty (choose a new or empty directory; nothing was changed)`]);
    expect(fingerprint(foreign)).toEqual({ 'notes.txt': createHash('sha256').update('mine').digest('hex') });

    const postgres = await runLifecycle(['simulate', '--from', '2019-08-31', '--to', '2019-09-01', '--into-database', 'postgres://localhost/sandbox'], { dataDir });
    expect(postgres.status).toBe(1);
    // No such database (or no server): refused before a sandbox is made (test/integration/simulate-postgres.test.ts runs one).
    expect(errorLines(postgres.stderr)).toEqual([expect.stringMatching(/^error: database postgres:\/\/localhost\/sandbox: /)]);

    const missing = path.join(tempDir(), 'nothing-here');
    const into = path.join(tempDir(), 'sandbox');
    const noDatabase = await runLifecycle(['simulate', '--from', '2019-08-31', '--to', '2019-09-01', '--into', into], { dataDir: missing });
    expect(noDatabase.status).toBe(1);
    expect(errorLines(noDatabase.stderr)).toEqual([expect.stringMatching(/^error: no database at .*nothing-here\/lifecycle\.db/)]);
    expect(existsSync(missing)).toBe(false);
    expect(existsSync(into)).toBe(false);
    expect(fingerprint(dataDir)).toEqual(data);
  });
});

describe('commands that only read, or act on existing data, never create anything', () => {
  it.each([
    [['show', 'S-1']],
    [['status']],
    [['status', '--json']],
    [['scan', '--dry-run']],
    [['scan', '--dry-run', '--as-of', '2019-08-31', '--json']],
    [['renew', 'S-1']],
    [['cancel', 'S-1', '--ticket', 'T-1']],
    [['reactivate', 'S-1']],
    [['payments', 'confirm', 'INV-2019-000001']],
    [['tokens', 'list']],
  ])('lifecycle %j on a missing data dir: no database, exit 1, nothing made', async (args) => {
    const dataDir = path.join(tempDir(), 'missing', 'data');
    const result = await runLifecycle(args, { dataDir });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(errorLines(result.stderr)).toEqual([`error: no database at ${path.join(dataDir, 'lifecycle.db')}`]);
    expect(existsSync(path.dirname(dataDir))).toBe(false);
  });

  it('lifecycle show on an existing data dir without a database creates none', async () => {
    const dataDir = tempDir();
    const result = await runLifecycle(['show', 'S-1'], { dataDir });
    expect(result.status).toBe(1);
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('lifecycle preview needs no database and makes no data dir', async () => {
    const dataDir = path.join(tempDir(), 'missing');
    const result = await runLifecycle(['preview', 'remind-before'], { dataDir });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('<html');
    expect(existsSync(dataDir)).toBe(false);
  });
});

describe('demo --data-dir', () => {
  it('refuses a directory it did not make, and every file stays', async () => {
    const foreign = tempDir();
    mkdirSync(path.join(foreign, 'src'));
    writeFileSync(path.join(foreign, 'src', 'main.ts'), 'export {};\n');
    writeFileSync(path.join(foreign, 'README.md'), '# mine\n');
    const before = fingerprint(foreign);
    const result = await runLifecycle(['demo', '--data-dir', foreign], { dataDir: tempDir() });
    expect(result.status).toBe(1);
    expect(errorLines(result.stderr)).toEqual([expect.stringContaining(`--data-dir ${foreign}: exists and is not a directory the demo made`)]);
    expect(fingerprint(foreign)).toEqual(before);
  });

  it('runs twice into its own directory, emptying it first; show reads the season afterwards', { timeout: 240_000 }, async () => {
    const demoDir = path.join(tempDir(), 'demo');
    const first = await runLifecycle(['demo', '--data-dir', demoDir], { dataDir: tempDir(), timeoutMs: 110_000 });
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(existsSync(path.join(demoDir, '.lifecycle-demo'))).toBe(true);
    writeFileSync(path.join(demoDir, 'outbox', 'left-over.eml'), 'from an earlier run');

    const second = await runLifecycle(['demo', '--data-dir', demoDir], { dataDir: tempDir(), timeoutMs: 110_000 });
    expect(second.status).toBe(0);
    // The same season from scratch: the import creates everything again.
    expect(second.stdout).toContain('9 subscriptions');
    expect(second.stdout.slice(second.stdout.indexOf('season done'))).toBe(first.stdout.slice(first.stdout.indexOf('season done')));
    expect(existsSync(path.join(demoDir, 'outbox', 'left-over.eml'))).toBe(false);

    const s4 = JSON.parse((await runLifecycle(['show', 'S-4', '--as-of', '2019-10-06', '--json'], { dataDir: demoDir })).stdout) as { status: string; actions: unknown[] };
    expect(s4.status).toBe('lapsed');
    expect(s4.actions.length).toBeGreaterThan(0);
  });
});
