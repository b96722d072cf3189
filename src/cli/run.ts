import { restrictUmask } from '../files.js';
import { runCli } from './main.js';
// Before anything is written: every file of the data dir owner-only (SPEC §9).
restrictUmask();
process.exitCode = await runCli(process.argv.slice(2));
