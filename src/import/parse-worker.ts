/**
 * Worker thread entry: parses and validates an import file (parse-file.ts) and posts its batches
 * to the thread that writes them. At most `maxInFlight` batches wait unacknowledged, so a reader
 * faster than the database does not fill the heap.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InputError } from '../errors.js';
import { parseImportFile } from './parse-file.js';
import type { ParseWorkerData, WorkerMessage } from './parse-in-worker.js';

const port = parentPort!;
const { file, format, copyText, maxInFlight } = workerData as ParseWorkerData;
let inFlight = 0;
let wake: (() => void) | null = null;
port.on('message', () => {
  inFlight--;
  wake?.();
  wake = null;
});
const post = (message: WorkerMessage) => port.postMessage(message);

try {
  for await (const batch of parseImportFile(file, format, { copyText })) {
    while (inFlight >= maxInFlight) await new Promise<void>((resolve) => (wake = resolve));
    inFlight++;
    post({ type: 'batch', batch });
  }
  post({ type: 'done' });
} catch (error) {
  post(
    error instanceof InputError
      ? { type: 'input-error', message: error.message, problems: [...error.problems] }
      : { type: 'error', message: (error as Error).message, stack: (error as Error).stack ?? '' },
  );
}
// The parent terminates this thread once it has read the last message.
