import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the worker thread whose entry is `name` beside the caller (`callerUrl`: its
 * import.meta.url): `name.js` from the build. From the TypeScript sources (tests, benchmarks under
 * tsx) the worker registers tsx first and loads `name.ts`, as Node 20 does not pass the parent's
 * loader to a worker.
 */
export function startWorkerThread(callerUrl: string, name: string, options: WorkerOptions = {}): Worker {
  const isSource = callerUrl.endsWith('.ts');
  const entry = new URL(`./${name}.${isSource ? 'ts' : 'js'}`, callerUrl);
  if (!isSource) return new Worker(entry, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
