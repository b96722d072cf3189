import { startAdminServer, type AdminServer } from '../../src/ops/http.js';
import { createLogger } from '../../src/log.js';
import type { Runtime } from '../../src/runtime.js';
import type { World } from './world.js';

export interface AdminReply {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: any;
}

export interface AdminHarness {
  baseUrl: string;
  runtime: Runtime;
  server: AdminServer;
  /** Calls the API; `token: null` sends no Authorization header, a string sends `Bearer <it>`. */
  call(method: string, path: string, options?: { body?: unknown; rawBody?: string; token?: string | null; authorization?: string }): Promise<AdminReply>;
  close(): Promise<void>;
}

/** A runtime with workers on the world's Redis and the admin server on a free loopback port. */
export async function startAdminHarness(world: World, token: string | null): Promise<AdminHarness> {
  const runtime = await world.startRuntime();
  const server = await startAdminServer({
    host: '127.0.0.1',
    port: 0,
    config: world.config,
    store: world.store,
    queues: runtime.queues,
    deps: runtime.deps,
    connection: runtime.connection,
    metrics: runtime.metrics,
    mailer: runtime.mailer,
    log: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    scanWaitMs: 20_000,
  });
  const baseUrl = `http://127.0.0.1:${server.port}`;
  return {
    baseUrl,
    runtime,
    server,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = {};
      const bearer = options.token === undefined ? token : options.token;
      if (options.authorization !== undefined) headers.authorization = options.authorization;
      else if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
      let body: string | undefined;
      if (options.rawBody !== undefined) body = options.rawBody;
      else if (options.body !== undefined) body = JSON.stringify(options.body);
      if (body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
      const text = await response.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: response.status, headers: response.headers, text, json };
    },
    close: () => server.close(),
  };
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (enough of it for tests). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the sample with this name whose labels include `labels`; undefined when absent. */
export function findSample(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
