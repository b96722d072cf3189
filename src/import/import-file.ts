import { open, stat } from 'node:fs/promises';
import { fileReadError, InputError } from '../errors.js';
import type { Store } from '../store/executor.js';
import { findMissingPartners, runImport, type WriteResult } from '../store/imports.js';
import { maxListedProblems, parseImportFile, type ImportFormat, type ParsedBatch, type PlacedProblem } from './parse-file.js';
import { parseInWorker } from './parse-in-worker.js';
import type { CopyTextLayout } from '../store/import-copy-text.js';

export interface ImportSummary {
  file: string;
  format: ImportFormat;
  partners: Record<WriteResult, number>;
  subscriptions: Record<WriteResult, number>;
}

/** The size of a file that can be imported; an InputError naming it when it is missing or not a file. */
export async function checkImportFile(file: string): Promise<number> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new InputError(`${file}: not a file`);
    return info.size;
  } catch (error) {
    throw fileReadError(file, error);
  }
}

async function detectFormat(file: string): Promise<ImportFormat> {
  if (/\.json$/i.test(file)) return 'json';
  if (/\.csv$/i.test(file)) return 'csv';
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw fileReadError(file, error);
  }
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(512), 0, 512, 0);
    return buffer.subarray(0, bytesRead).toString('utf8').trimStart().startsWith('{') ? 'json' : 'csv';
  } finally {
    await handle.close();
  }
}

/**
 * The first `maxListedProblems` problems by position in the file (line or record order), each
 * record's own in the order found: a missing partner, found once the whole file is read, is
 * listed beside its record's other problems. Both lists are in file order and at most the limit long.
 */
function listProblems(listed: PlacedProblem[], missingPartners: PlacedProblem[]): string[] {
  const all = [...listed, ...missingPartners];
  // Array.prototype.sort is stable: a record's missing partner stays after its other problems.
  all.sort((a, b) => a[0] - b[0]);
  return all.slice(0, maxListedProblems).map(([, problem]) => problem);
}

/** Files this large (or larger) are parsed in a worker thread; a small one is not worth the start-up. */
const workerThresholdBytes = 4 * 2 ** 20;

export interface ImportOptions {
  /** Parse and validate in a worker thread while this one writes. Default: for files of 4 MiB or more. */
  parseInWorker?: boolean;
  /** Called after each batch (a few thousand records) with the records read so far. */
  onProgress?: (read: { partners: number; subscriptions: number; problems: number }) => void;
  /** What the audit trail and the summary name as the source (e.g. `api:token:NAME`). Default: the file's path. */
  source?: string;
  /**
   * Read and validate the whole file before taking the transaction, then read it again to write:
   * a file with problems never holds the database, and a good one holds it only while written.
   * Default: off (the CLI streams into its transaction, a million records in seconds).
   */
  validateFirst?: boolean;
}

/**
 * SPEC §2: all or nothing. Records are written as they stream in, inside one transaction that
 * is rolled back if any record is invalid, so memory holds a few batches at a time (plus the ids
 * seen, to catch duplicates) and the database is untouched by a failed import. A large file is
 * read, parsed and validated in a worker thread while this thread writes: the two halves of the
 * work take about as long as each other, and each has a core.
 */
export async function importFile(store: Store, file: string, now: Date, options: ImportOptions = {}): Promise<ImportSummary> {
  const size = await checkImportFile(file);
  const format = await detectFormat(file);
  const summary: ImportSummary = {
    file: options.source ?? file,
    format,
    partners: { created: 0, updated: 0, unchanged: 0 },
    subscriptions: { created: 0, updated: 0, unchanged: 0 },
  };
  /** The parser's listed problems (the first by position), then the missing partners found here. */
  const listed: PlacedProblem[] = [];
  const missingPartners: PlacedProblem[] = [];
  let problemCount = 0;
  const isInWorker = options.parseInWorker ?? size >= workerThresholdBytes;
  const read = { partners: 0, subscriptions: 0, problems: 0 };

  const fail = (): never => {
    const problems = listProblems(listed, missingPartners);
    if (problemCount > maxListedProblems) problems.push(`… and ${problemCount - maxListedProblems} more problems`);
    throw new InputError(`${file}: ${problemCount} problem${problemCount === 1 ? '' : 's'}; nothing was imported`, problems);
  };
  /** Partners the file names but does not hold are problems unless the database holds them. */
  const countMissingPartners = async (unresolved: ParsedBatch['unresolved'], find: (ids: string[]) => Promise<Set<string>>) => {
    if (unresolved.length === 0) return;
    const missing = await find(unresolved.map(([, , partnerId]) => partnerId));
    for (const [position, where, partnerId] of unresolved) {
      if (!missing.has(partnerId)) continue;
      problemCount++;
      // Unresolved partners come in file order: past the limit, later ones cannot be among the first.
      if (missingPartners.length < maxListedProblems) {
        missingPartners.push([position, `${where}: partner "${partnerId}" is neither in the file nor in the database`]);
      }
    }
  };
  const readBatches = (copyText?: CopyTextLayout) => (isInWorker ? parseInWorker(file, format, copyText) : parseImportFile(file, format, { copyText }));

  if (options.validateFirst) {
    // The first pass keeps only the problems: memory stays a few batches, as when writing.
    for await (const batch of readBatches()) {
      for (const problem of batch.problems) listed.push(problem);
      problemCount += batch.problemCount;
      await countMissingPartners(batch.unresolved, (ids) => findMissingPartners(store, ids));
    }
    if (problemCount > 0) fail();
  }

  return runImport(store, { now, source: options.source ?? file }, async (writer) => {
    for await (const batch of readBatches(writer.copyTextLayout)) {
      if (!options.validateFirst) {
        // The batch's problems were counted in the parser; past the listing limit only the count comes.
        for (const problem of batch.problems) listed.push(problem);
        problemCount += batch.problemCount;
      }
      // After the first problem nothing is written (it would be rolled back): only problems are collected.
      if (problemCount === 0) await writer.write(batch);
      await countMissingPartners(batch.unresolved, (ids) => writer.findMissingPartners(ids));
      read.partners += batch.partnerCount;
      read.subscriptions += batch.subscriptionCount;
      read.problems = problemCount;
      options.onProgress?.(read);
    }
    if (problemCount > 0) fail();
    const counts = await writer.finish();
    summary.partners = counts.partners;
    summary.subscriptions = counts.subscriptions;
    // SPEC §2: re-importing the same file changes nothing, not even the audit trail.
    const isChanged = [summary.partners, summary.subscriptions].some((c) => c.created + c.updated > 0);
    if (isChanged) await writer.recordImport(summary);
    return summary;
  });
}
