import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { PaymentGateway } from '../../src/billing/gateway.js';
import { PermanentError } from '../../src/errors.js';
import { actionQueueName, waitUntilIdle } from '../../src/jobs/queues.js';
import { runScan } from '../../src/jobs/scan.js';
import { createLogger } from '../../src/log.js';
import { startAdminServer } from '../../src/ops/http.js';
import { runLifecycle } from '../helpers/cli.js';
import { useWorlds } from '../helpers/world.js';

const D = '2019-09-30';
const adminToken = 'admin-token-SECRET-0123456789abcdef';
const webhookSecret = 'whsec-SECRET-5f2c9a';
const urlPassword = 'hookpass-SECRET-77ab';
const secrets = [adminToken, webhookSecret, urlPassword];

const worlds = useWorlds({ hasSmtp: false });

/**
 * What fetch and ioredis errors did: quote the URL they were given, password included, or a
 * header value. The gateway stands for such a client (the failure's text is what is tested).
 */
const leakingGateway: PaymentGateway = {
  name: 'webhook',
  charge: async () => {
    throw new PermanentError(`POST https://shop:${urlPassword}@pay.example.com/charge failed (signed with ${webhookSecret}, admin ${adminToken})`);
  },
};

describe('failure reasons show no secret (SPEC §9)', () => {
  it('a failed job whose error carries a URL with a password: not in Redis, /api/jobs/failed or `lifecycle status`', async () => {
    const env = { REDIS_URL: worlds.redis.url, ADMIN_TOKEN: adminToken, PAYMENT_WEBHOOK_SECRET: webhookSecret };
    const w = await worlds.create(env, D);
    await w.import([{ id: 'S-leak', anniversaryOn: D, autoRenew: true, token: 'tok_visa' }]);
    const runtime = await w.startRuntime({ gateway: leakingGateway });
    await runScan(runtime.deps, { trigger: 'operator', asOf: D });
    await waitUntilIdle(runtime.queues.actions);
    const [failed] = await runtime.queues.actions.getFailed();
    expect(failed?.failedReason).toBe('POST https://***@pay.example.com/charge failed (signed with ***, admin ***)');

    // A reason stored by an older release, unredacted: the display boundaries redact it too.
    const client = new Redis(worlds.redis.url);
    await client.hset(`${w.prefix}:${actionQueueName}:${failed!.id}`, 'failedReason', `fetch https://u:${urlPassword}@pay.example.com/ ${webhookSecret}`);
    client.disconnect();

    const server = worlds.closeAfterTest(await startAdminServer({
      host: '127.0.0.1',
      port: 0,
      config: w.config,
      store: w.store,
      queues: runtime.queues,
      deps: runtime.deps,
      connection: runtime.connection,
      metrics: runtime.metrics,
      mailer: runtime.mailer,
      log: createLogger('silent'),
    }));
    const response = await fetch(`http://127.0.0.1:${server.port}/api/jobs/failed`, { headers: { authorization: `Bearer ${adminToken}` } });
    const text = await response.text();
    expect(response.status).toBe(200);
    expect((JSON.parse(text) as { jobs: { reason: string }[] }).jobs.map((job) => job.reason)).toEqual(['fetch https://***@pay.example.com/ ***']);
    for (const secret of secrets) expect(text).not.toContain(secret);

    const status = await runLifecycle(['status', '--json'], { dataDir: w.dir, env: { ...env, QUEUE_PREFIX: w.prefix } });
    expect(status.status).toBe(0);
    expect(status.stdout).toContain('fetch https://***@pay.example.com/ ***');
    for (const secret of secrets) expect(status.stdout + status.stderr).not.toContain(secret);
    const human = await runLifecycle(['status'], { dataDir: w.dir, env: { ...env, QUEUE_PREFIX: w.prefix } });
    expect(human.stdout).toMatch(/failed .* after 1 attempts: fetch https:\/\/\*\*\*@pay\.example\.com\/ \*\*\*/);
    for (const secret of secrets) expect(human.stdout + human.stderr).not.toContain(secret);
  });
});

describe('a webhook that redirects, through the runtime (SPEC §9)', () => {
  it('fails the auto-renew job for good at the first attempt, naming the status; the Location host receives nothing', async () => {
    const received: string[] = [];
    const servers = [0, 1].map(() =>
      http.createServer((req, res) => {
        received.push(`${req.socket.localPort} ${req.method}`);
        req.resume();
        res.writeHead(307, { location: `http://127.0.0.1:${(servers[1]!.address() as AddressInfo).port}/elsewhere` }).end();
      }),
    );
    for (const server of servers) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const [first] = servers.map((server) => (server.address() as AddressInfo).port);
      const w = await worlds.create(
        { PAYMENT_GATEWAY: 'webhook', PAYMENT_WEBHOOK_URL: `http://127.0.0.1:${first}/charges`, PAYMENT_WEBHOOK_SECRET: webhookSecret },
        D,
      );
      await w.import([{ id: 'S-redirect', anniversaryOn: D, autoRenew: true, token: 'tok_visa' }]);
      const runtime = await w.startRuntime();
      await runScan(runtime.deps, { trigger: 'operator', asOf: D });
      await waitUntilIdle(runtime.queues.actions);
      const [failed] = await runtime.queues.actions.getFailed();
      expect(failed?.attemptsMade).toBe(1);
      expect(failed?.failedReason).toMatch(/answered 307 \(a redirect\): redirects are not followed/);
      expect(received).toEqual([`${first} POST`]);
    } finally {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    }
  });
});
