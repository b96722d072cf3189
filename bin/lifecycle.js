#!/usr/bin/env node
// The installed command. `npm ci` builds dist/ (the "prepare" script).
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('error: dist/ is missing: run `npm run build` (npm ci does it for you)\n');
  process.exit(1);
}
// Before anything is written: the database, Redis data, outbox and logs are owner-only (SPEC §9).
process.umask(0o077);
const { runCli } = await import(main.href);
process.exitCode = await runCli(process.argv.slice(2));
