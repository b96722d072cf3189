import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseFile } from '../../src/store/db.js';
import { errorLines, repoRoot, runLifecycle } from '../helpers/cli.js';

// Text stored before the import refused control characters (or written by other means) must still
// not reach a terminal raw: an ESC sequence could clear the screen, retitle the window or hide lines.
const hostile = 'Evil\u001b[2J\u001b]0;owned\u0007\r\nerror: forged\u202e\u009b';
const shownAs = 'Evil\\x1b[2J\\x1b]0;owned\\x07\\x0d\\x0aerror: forged\\u202e\\x9b';
const hasRawControl = (text: string) => /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(text);

let dataDir: string;
beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'lifecycle-terminal-'));
  const imported = await runLifecycle(['import', path.join(repoRoot, 'examples/subscriptions.json')], { dataDir });
  expect(imported.status).toBe(0);
  const sqlite = new Database(databaseFile(dataDir));
  try {
    sqlite.prepare("UPDATE partners SET name = ? WHERE id = 'P-1001'").run(hostile);
    sqlite.prepare("UPDATE subscriptions SET status = 'cancelled', cancelled_on = '2019-08-01', cancel_ticket = ? WHERE id = 'S-1'").run(`T-1${hostile}`);
  } finally {
    sqlite.close();
  }
}, 60_000);
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('no control character of stored or given text reaches the terminal raw', () => {
  it('show prints a partner name and a ticket with ESC, CR/LF and a bidi override escaped, each on its own line', async () => {
    const result = await runLifecycle(['show', 'S-1', '--as-of', '2019-08-10'], { dataDir });
    expect(result.status).toBe(0);
    expect(hasRawControl(result.stdout)).toBe(false);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toContain(`partner P-1001 (${shownAs})`);
    expect(lines.some((line) => line.startsWith('error:'))).toBe(false);
    expect(result.stdout).toContain(`(ticket T-1${shownAs})`);
  });

  it('show --json escapes them too (C1 and bidi controls as \\u…), and parses back to the stored text', async () => {
    const result = await runLifecycle(['show', 'S-1', '--as-of', '2019-08-10', '--json'], { dataDir });
    expect(result.status).toBe(0);
    expect(hasRawControl(result.stdout)).toBe(false);
    expect(JSON.parse(result.stdout)).toMatchObject({ partner: { name: hostile }, cancelTicket: `T-1${hostile}` });
  });

  it('an error line quoting the given text shows its ESC sequence escaped, on one line', async () => {
    const result = await runLifecycle(['show', 'S-1\u001b[31mred\r\nerror: forged'], { dataDir });
    expect(result.status).toBe(1);
    expect(hasRawControl(result.stderr)).toBe(false);
    expect(errorLines(result.stderr)).toEqual(['error: no subscription "S-1\\x1b[31mred\\x0d\\x0aerror: forged" (ids are those given at import)']);
  });

  it('an import problem quoting a value with control characters is one escaped error line', async () => {
    const file = path.join(dataDir, 'hostile.json');
    writeFileSync(file, JSON.stringify({ partners: [{ id: 'P\u001b[2J', name: 'ok' }], subscriptions: [] }));
    const result = await runLifecycle(['import', file], { dataDir });
    expect(result.status).toBe(1);
    expect(hasRawControl(result.stderr)).toBe(false);
    expect(errorLines(result.stderr)[0]).toBe(
      'error: partners[0].id: "P\\x1b[2J" is not a valid id: U+001B at character 2 (ids are 1-64 characters of A-Z a-z 0-9 . _ -, the first a letter or a digit)',
    );
  });

  it('a usage error naming an unknown command with an ESC shows it escaped', async () => {
    const result = await runLifecycle(['bogus\u001b[2J'], { dataDir });
    expect(result.status).toBe(2);
    expect(hasRawControl(result.stderr)).toBe(false);
    expect(result.stderr).toContain('bogus\\x1b[2J');
  });
});
