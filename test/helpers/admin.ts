import { request as httpRequest } from 'node:http';
import { startAdminServer, type AdminServer } from '../../src/ops/http.js';
import { createLogger, type Logger } from '../../src/log.js';
import type { Runtime } from '../../src/runtime.js';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startTestRedis, type TestRedis } from './redis.js';
import { startSmtpServer, type SmtpTestServer } from './smtp.js';
import { createWorld, type World } from './world.js';

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
  /**
   * Calls the API; `token: null` sends no Authorization header, a string sends `Bearer <it>`.
   * `localAddress` (e.g. 127.0.0.2, any of 127/8 is loopback) calls from another client address.
   */
  call(method: string, path: string, options?: { body?: unknown; rawBody?: string; token?: string | null; authorization?: string; localAddress?: string }): Promise<AdminReply>;
  close(): Promise<void>;
}

/** A runtime with workers on the world's Redis and the admin server on a free loopback port. */
/** A plain node:http request, for what fetch cannot choose: the client's address. */
function requestFrom(localAddress: string, url: string, method: string, headers: Record<string, string>, body: string | undefined) {
  return new Promise<{ status: number; headers: Headers; text: string }>((resolve, reject) => {
    const req = httpRequest(url, { method, headers, localAddress }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        const replyHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') replyHeaders.set(name, value);
        resolve({ status: res.statusCode ?? 0, headers: replyHeaders, text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function startAdminHarness(world: World, token: string | null, options: { log?: Logger } = {}): Promise<AdminHarness> {
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
    log: options.log ?? createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
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
      const { status, headers: replyHeaders, text } = options.localAddress
        ? await requestFrom(options.localAddress, `${baseUrl}${path}`, method, headers, body)
        : await fetch(`${baseUrl}${path}`, { method, headers, body }).then(async (response) => ({ status: response.status, headers: response.headers, text: await response.text() }));
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status, headers: replyHeaders, text, json };
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

export interface AdminWorlds {
  readonly redis: TestRedis;
  readonly smtp: SmtpTestServer;
  /**
   * A world (store, runtime) on the file's redis-server and SMTP server, and its admin API
   * authenticated by `env.ADMIN_TOKEN`; both closed after the test.
   */
  start(env: Record<string, string>, today: string): Promise<{ w: World; api: AdminHarness }>;
}

/**
 * The set-up the admin API test files share: one redis-server and one SMTP server per file, a
 * world and its admin API per test, closed after each test (the API first), even when it fails.
 */
export function useAdminWorlds(): AdminWorlds {
  let redis: TestRedis | undefined;
  let smtp: SmtpTestServer | undefined;
  const opened: { close(): Promise<void> }[] = [];
  beforeAll(async () => {
    [redis, smtp] = await Promise.all([startTestRedis(), startSmtpServer()]);
  });
  afterAll(async () => {
    await Promise.all([redis?.stop(), smtp?.stop()]);
  });
  afterEach(async () => {
    for (const item of opened.splice(0).reverse()) await item.close();
  });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`useAdminWorlds: the ${what} is not started (outside a test?)`);
    return value;
  };
  return {
    get redis() {
      return started(redis, 'redis-server');
    },
    get smtp() {
      return started(smtp, 'SMTP server');
    },
    async start(env, today) {
      const w = await createWorld({ REDIS_URL: started(redis, 'redis-server').url, SMTP_URL: started(smtp, 'SMTP server').url, ...env }, today);
      opened.push(w);
      const api = await startAdminHarness(w, env.ADMIN_TOKEN ?? null);
      opened.push(api);
      return { w, api };
    },
  };
}
