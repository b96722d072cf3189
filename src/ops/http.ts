import http from 'node:http';
import type { Store } from '../store/db.js';
import type { Queues } from '../jobs/queues.js';

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

async function checkHealth(store: Store, queues: Queues) {
  const checks: Record<string, { ok: boolean; error?: string }> = {};
  try {
    store.sqlite.prepare('SELECT 1').get();
    checks.database = { ok: true };
  } catch (error) {
    checks.database = { ok: false, error: (error as Error).message };
  }
  try {
    await queues.actions.getJobCounts('active');
    checks.redis = { ok: true };
  } catch (error) {
    checks.redis = { ok: false, error: (error as Error).message };
  }
  return { status: Object.values(checks).every((c) => c.ok) ? 'ok' : 'degraded', checks };
}

/** The admin HTTP API (for now `GET /healthz`), on loopback unless ADMIN_HOST says otherwise. */
export async function startAdminServer(options: { host: string; port: number; store: Store; queues: Queues }): Promise<AdminServer> {
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (request.method === 'GET' && url.pathname === '/healthz') {
      checkHealth(options.store, options.queues).then(
        (health) => {
          response.writeHead(health.status === 'ok' ? 200 : 503, { 'content-type': 'application/json' });
          response.end(JSON.stringify(health));
        },
        (error: Error) => {
          response.writeHead(500, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ status: 'error', error: error.message }));
        },
      );
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: `no route ${request.method} ${url.pathname}` }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
