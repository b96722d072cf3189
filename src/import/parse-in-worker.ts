import { Worker } from 'node:worker_threads';
import { InputError } from '../errors.js';
import type { ImportFormat, ParsedBatch } from './parse-file.js';
import type { CopyTextLayout } from '../store/import-copy-text.js';

export interface ParseWorkerData {
  file: string;
  format: ImportFormat;
  copyText: CopyTextLayout | undefined;
  maxInFlight: number;
}

export type WorkerMessage =
  | { type: 'batch'; batch: ParsedBatch }
  | { type: 'done' }
  | { type: 'input-error'; message: string; problems: string[] }
  | { type: 'error'; message: string; stack: string };

/**
 * Starts the parsing worker. From the build it is `parse-worker.js`; from the TypeScript sources
 * (tests, benchmarks under tsx) the worker registers tsx first, as Node 20 does not pass the
 * parent's loader to a worker.
 */
function startWorker(data: ParseWorkerData): Worker {
  // Records live from parsing until their batch is posted: a young generation larger than the
  // default lets most of them die young instead of being copied into the old generation.
  const resourceLimits = { maxYoungGenerationSizeMb: 192 };
  const entry = new URL(import.meta.url.endsWith('.ts') ? './parse-worker.ts' : './parse-worker.js', import.meta.url);
  if (entry.pathname.endsWith('.js')) return new Worker(entry, { workerData: data, resourceLimits });
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: data, resourceLimits });
}

/**
 * `parseImportFile` run in a worker thread: the caller gets the same batches while the reading,
 * parsing and validating of the next ones goes on on another core.
 */
export async function* parseInWorker(file: string, format: ImportFormat, copyText?: CopyTextLayout, maxInFlight = 4): AsyncGenerator<ParsedBatch> {
  const worker = startWorker({ file, format, copyText, maxInFlight });
  const queue: WorkerMessage[] = [];
  let wake: (() => void) | null = null;
  let failure: Error | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  worker.on('message', (message: WorkerMessage) => {
    queue.push(message);
    notify();
  });
  worker.on('error', (error) => {
    failure = error;
    notify();
  });
  worker.on('exit', (code) => {
    if (code !== 0 && !failure) failure = new Error(`the import's parsing worker exited with code ${code}`);
    notify();
  });
  try {
    for (;;) {
      const message = queue.shift();
      if (!message) {
        if (failure) throw failure;
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      if (message.type === 'done') return;
      if (message.type === 'input-error') throw new InputError(message.message, message.problems);
      if (message.type === 'error') throw Object.assign(new Error(message.message), { stack: message.stack });
      yield message.batch;
      worker.postMessage('ack');
    }
  } finally {
    // Done, failed, or the caller stopped early (a write failed): the worker is not needed any more.
    await worker.terminate();
  }
}
