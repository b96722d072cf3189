import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readlinkSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { migrationsFolders } from '../../src/store/db.js';
import { trackChild } from '../../support/processes.js';

// SPEC §5, §7: migrations are applied on start by whichever process comes first. On one SQLite file
// two processes may start together (the daemon after an upgrade and a `lifecycle import`, or two
// daemons on one host): the second must find the work done, not apply it again.

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const fixture = fileURLToPath(new URL('../fixtures/lifecycle-0003.db', import.meta.url));
const journal = JSON.parse(readFileSync(path.join(migrationsFolders.sqlite, 'meta/_journal.json'), 'utf8')) as { entries: { when: number }[] };

const openInChild = `
const { openStore } = await import('./src/store/db.ts');
try {
  const store = openStore(process.env.DB_FILE);
  await store.close();
  console.log('opened');
} catch (error) {
  console.log('error: ' + error.message);
}`;

/** Whether process `pid` holds `file` open (Linux: /proc/PID/fd). */
function isHolding(pid: number, file: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === file;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

describe.skipIf(process.platform !== 'linux')('two processes opening one SQLite file at once', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('both start, and each pending migration is applied once', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'lifecycle-migrate-race-'));
    const file = path.join(dir, 'lifecycle.db');
    copyFileSync(fixture, file); // a release's database: migrations 0000-0003, the later ones pending
    // The write lock held while both read what is applied, as a long import holds it.
    const holder = new Database(file);
    holder.pragma('journal_mode = WAL');
    holder.exec('BEGIN IMMEDIATE');
    const outputs: Promise<string>[] = [];
    const pids: number[] = [];
    for (let i = 0; i < 2; i++) {
      const child = trackChild(
        spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', openInChild], { cwd: repoRoot, env: { ...process.env, DB_FILE: file }, stdio: ['ignore', 'pipe', 'inherit'] }),
      );
      pids.push(child.pid!);
      outputs.push(
        new Promise((resolve) => {
          let text = '';
          child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
          child.once('exit', () => resolve(text.trim()));
        }),
      );
    }
    // Both have the database open and are past their first read (the WAL is opened by it) …
    const wal = `${file}-wal`;
    while (!pids.every((pid) => isHolding(pid, wal))) await new Promise((resolve) => setTimeout(resolve, 20));
    // … and waiting for the lock (their busy timeout is 30 s).
    await new Promise((resolve) => setTimeout(resolve, 500));
    holder.exec('COMMIT');
    expect(await Promise.all(outputs)).toEqual(['opened', 'opened']);
    const applied = holder.prepare('SELECT created_at FROM __drizzle_migrations ORDER BY created_at').all() as { created_at: number }[];
    expect(applied.map((row) => Number(row.created_at))).toEqual(journal.entries.map((entry) => entry.when));
    holder.close();
  }, 60_000);
});
