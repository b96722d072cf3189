import { request as httpRequest } from 'node:http';
import { startAdminServer, type AdminServer } from '../../src/ops/http.js';
import { createLogger, type Logger } from '../../src/log.js';
import type { Runtime } from '../../src/runtime.js';
import { useWorlds, type World, type Worlds } from './world.js';

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

/** A runtime with workers on the world's Redis and the admin server on a free loopback port. */
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

export interface AdminWorlds extends Worlds {
  /**
   * A world (store, runtime) on the file's redis-server and SMTP server, and its admin API
   * authenticated by `env.ADMIN_TOKEN`; both closed after the test.
   */
  start(env: Record<string, string>, today: string, options?: { log?: Logger }): Promise<{ w: World; api: AdminHarness }>;
  /** The admin API of a world made by `create` (authenticated by its ADMIN_TOKEN), closed after the test before it. */
  openApi(w: World, options?: { log?: Logger }): Promise<AdminHarness>;
}

/** `useWorlds()` (test/helpers/world.ts) for the admin API test files: a world and its admin API per test. */
export function useAdminWorlds(options: { hasSmtp?: boolean } = {}): AdminWorlds {
  const worlds = useWorlds(options);
  const openApi = async (w: World, apiOptions: { log?: Logger } = {}) => worlds.closeAfterTest(await startAdminHarness(w, w.config.adminToken, apiOptions));
  return {
    get redis() {
      return worlds.redis;
    },
    get smtp() {
      return worlds.smtp;
    },
    create: worlds.create,
    closeAfterTest: worlds.closeAfterTest,
    openApi,
    async start(env, today, apiOptions) {
      const w = await worlds.create(env, today);
      return { w, api: await openApi(w, apiOptions) };
    },
  };
}
