import { randomBytes } from 'node:crypto';
import type { DestinationStream } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { waitUntilIdle } from '../../src/jobs/queues.js';
import { describeSubscription } from '../../src/ops/describe.js';
import { addDays } from '../../src/policy/dates.js';
import { createLogger, type Logger } from '../../src/log.js';
import { createToken, hashToken, listTokens, revokeToken } from '../../src/store/tokens.js';
import { findSample, parseMetrics, useAdminWorlds, type AdminHarness } from '../helpers/admin.js';
import { runLifecycle } from '../helpers/cli.js';
import { outboxMail, type World } from '../helpers/world.js';

const D = '2019-09-30';
const token = 'admin-token-for-tests-0123456789';

const servers = useAdminWorlds();
afterEach(() => servers.smtp.setRejecting(undefined));

function start(env: Record<string, string> = { ADMIN_TOKEN: token }, today = D, options: { log?: Logger } = {}): Promise<{ w: World; api: AdminHarness }> {
  return servers.start(env, today, options);
}

/** Every protected route (as the server names it), a path to call and a body it would accept: 401 comes first. */
const protectedRoutes: [route: string, path: string, body?: unknown][] = [
  ['GET /openapi.json', '/openapi.json'],
  ['GET /api/session', '/api/session'],
  ['POST /api/session', '/api/session'],
  ['DELETE /api/session', '/api/session'],
  ['GET /api/forecast', '/api/forecast'],
  ['GET /api/scans/results', '/api/scans/results'],
  ['GET /api/notices/:messageId/email', '/api/notices/no-such-notice/email'],
  ['GET /metrics', '/metrics'],
  ['POST /api/scans', '/api/scans', { dryRun: true }],
  ['GET /api/scans', '/api/scans'],
  ['GET /api/subscriptions', '/api/subscriptions'],
  ['GET /api/subscriptions/:id', '/api/subscriptions/S-1'],
  ['POST /api/subscriptions/:id/renew', '/api/subscriptions/S-1/renew', { asOf: D }],
  ['POST /api/subscriptions/:id/cancel', '/api/subscriptions/S-1/cancel', { ticket: 'T-1' }],
  ['POST /api/subscriptions/:id/reactivate', '/api/subscriptions/S-1/reactivate', {}],
  ['GET /api/invoices/:number', '/api/invoices/INV-2019-000001'],
  ['POST /api/invoices/:number/confirm', '/api/invoices/INV-2019-000001/confirm', {}],
  ['GET /api/plan', '/api/plan'],
  ['GET /api/jobs/failed', '/api/jobs/failed'],
  ['POST /api/jobs/:id/retry', '/api/jobs/remind-before.S-1.2019-10-05/retry'],
  ['GET /api/queues', '/api/queues'],
  ['GET /api/notices/undeliverable', '/api/notices/undeliverable'],
  ['GET /api/events', '/api/events'],
  ['POST /api/events/redeliver', '/api/events/redeliver', { from: 1 }],
  ['PUT /api/partners/:id', '/api/partners/P-1', { id: 'P-1', name: 'P', locale: 'en', migratedToPartnerCenter: true, contacts: [] }],
  ['PUT /api/subscriptions/:id', '/api/subscriptions/S-1', { partnerId: 'P-1', offer: 'action_pack', purchasedOn: D }],
  ['POST /api/imports', '/api/imports', { partners: [] }],
];
/** Served without a token: the health check and the console's static files (the page holds no data). */
const consoleFiles = ['GET /', 'GET /favicon.ico', 'GET /console/console.css', 'GET /console/console.js', 'GET /console/favicon.svg', 'GET /console/vendor/uPlot.iife.min.js', 'GET /console/vendor/uPlot.min.css'];
const publicRoutes = [...consoleFiles, 'GET /healthz'];
/** bull-board's own routes, under /queues: test/integration/console-api.test.ts checks they take the same authentication. */
const isBoardRoute = (route: string) => / \/queues(\/|$)/.test(route);
/** Signing in and out is open to a viewer: they are the session's own, not actions. */
const sessionRoutes = ['POST /api/session', 'DELETE /api/session'];

const methodOf = (route: string) => route.split(' ')[0]!;
/** The call to make for a route the server serves; a route missing from the table fails the test that asks. */
const findCall = (route: string) => {
  const call = protectedRoutes.find(([name]) => name === route);
  if (!call) throw new Error(`${route}: add it to protectedRoutes in this test`);
  return call;
};
/** A client address of its own (any of 127/8 is loopback), so no test trips the per-address failure limit by accident. */
const addressOf = (n: number) => `127.0.${1 + (n >> 8)}.${1 + (n & 255)}`;

/** Log lines as objects, captured from the admin server's logger. */
function captureLog() {
  const lines: string[] = [];
  const log = createLogger('info', { destination: { write: (line: string) => void lines.push(line) } as DestinationStream });
  return { log, lines, entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('admin API authentication', () => {
  it('answers 401 on every route but the public ones without the token or with a wrong one, and does nothing', async () => {
    const { w, api } = await start();
    await w.import([{ id: 'S-1', anniversaryOn: addDays(D, -5), token: 'tok_visa' }]);
    const wrong = [
      { token: null },
      { token: 'wrong' },
      { token: `${token}x` },
      { token: token.slice(0, -1) },
      { authorization: `Basic ${token}` },
      { authorization: token },
      { authorization: 'Bearer' },
    ];
    for (const [i, [route, path, body]] of protectedRoutes.entries()) {
      for (const credentials of wrong) {
        const reply = await api.call(methodOf(route), path, { body, ...credentials, localAddress: addressOf(i) });
        expect({ route, credentials, status: reply.status }).toEqual({ route, credentials, status: 401 });
        expect(reply.json.error).toMatch(/bearer token/);
        expect(reply.headers.get('www-authenticate')).toBe('Bearer');
      }
    }
    expect(w.store.connection.prepare('SELECT COUNT(*) FROM invoices').pluck().get()).toBe(0);
    expect(w.store.connection.prepare('SELECT COUNT(*) FROM scan_runs').pluck().get()).toBe(0);
    expect((await api.call('GET', '/healthz', { token: null })).status).toBe(200);
    // The scheme is case-insensitive (RFC 7235).
    expect((await api.call('GET', '/api/queues', { authorization: `bearer ${token}` })).status).toBe(200);
  });

  it('covers every route the server serves, and the OpenAPI document lists all but its own', async () => {
    const { api } = await start();
    const served = api.server.routes.filter((route) => !route.startsWith('HEAD ') && !isBoardRoute(route)).sort();
    expect(served).toEqual([...protectedRoutes.map(([route]) => route), ...publicRoutes].sort());
    const openapi = (await api.call('GET', '/openapi.json')).json as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(openapi.paths)
      .flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`))
      .sort();
    const hidden = ['GET /openapi.json', ...consoleFiles];
    expect(documented).toEqual(served.filter((route) => !hidden.includes(route)));
  });

  it('with ADMIN_TOKEN unset, every protected route answers 401 saying to set it or make a named token', async () => {
    const { api } = await start({});
    for (const [i, [route, path, body]] of protectedRoutes.entries()) {
      for (const presented of [null, 'anything', '']) {
        const reply = await api.call(methodOf(route), path, { body, token: presented, localAddress: addressOf(i) });
        expect(reply.status).toBe(401);
        expect(reply.json.error).toContain('set ADMIN_TOKEN or make a token with `lifecycle tokens create');
      }
    }
    expect((await api.call('GET', '/healthz')).status).toBe(200);
  });

  it('a viewer token reads every GET route and gets 403 with the reason on every other route the server serves, which then does nothing', async () => {
    const { w, api } = await start();
    await w.import([{ id: 'S-1', anniversaryOn: addDays(D, -5), token: 'tok_visa' }]);
    const viewer = (await createToken(w.store, 'ops-viewer', 'viewer', new Date())).token;
    const mutating = api.server.routes.filter((route) => !/^(GET|HEAD) /.test(route) && !isBoardRoute(route) && !sessionRoutes.includes(route));
    expect(mutating).toHaveLength(10);
    for (const route of mutating) {
      const [, path, body] = findCall(route);
      const reply = await api.call(methodOf(route), path, { body, token: viewer });
      expect({ route, status: reply.status, body: reply.json }).toEqual({
        route,
        status: 403,
        body: { error: `token "ops-viewer" has the viewer role; ${route} needs operator` },
      });
    }
    for (const table of ['invoices', 'scan_runs', 'audit_events WHERE actor = \'operator\'']) {
      expect({ table, count: w.store.connection.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() }).toEqual({ table, count: 0 });
    }
    for (const [route, path] of protectedRoutes.filter(([route]) => methodOf(route) === 'GET')) {
      const reply = await api.call('GET', path, { token: viewer });
      expect({ route, refused: reply.status === 401 || reply.status === 403 }).toEqual({ route, refused: false });
    }
    expect((await api.call('GET', '/api/session', { token: viewer })).json).toEqual({ name: 'ops-viewer', role: 'viewer', ref: 'token:ops-viewer' });
    // An operator token passes the same routes' role check (a dry-run scan acts on nothing).
    const operator = (await createToken(w.store, 'ops-operator', 'operator', new Date())).token;
    expect((await api.call('POST', '/api/scans', { body: { dryRun: true }, token: operator })).status).toBe(200);
  });

  it('the audit trail and the log lines name the token that acted: token:NAME, or ADMIN_TOKEN; a revoked one is logged by name', async () => {
    const capture = captureLog();
    const { w, api } = await start({ ADMIN_TOKEN: token }, D, { log: capture.log });
    await w.import([
      { id: 'A-named', anniversaryOn: addDays(D, -5), token: 'tok_visa' },
      { id: 'A-admin', anniversaryOn: addDays(D, -5), token: 'tok_visa' },
    ]);
    const operator = (await createToken(w.store, 'ops-operator', 'operator', new Date())).token;
    expect((await api.call('POST', '/api/subscriptions/A-named/renew', { body: { asOf: D }, token: operator })).json).toMatchObject({ outcome: 'renewed' });
    expect((await api.call('POST', '/api/subscriptions/A-admin/renew', { body: { asOf: D } })).json).toMatchObject({ outcome: 'renewed' });
    const audit = w.store.connection.prepare("SELECT subscription_id AS subscription, actor_ref AS ref FROM audit_events WHERE actor = 'operator' ORDER BY id").all();
    expect(audit).toEqual([
      { subscription: 'A-named', ref: 'token:ops-operator' },
      { subscription: 'A-admin', ref: 'ADMIN_TOKEN' },
    ]);
    const actions = capture.entries().filter((entry) => entry.msg === 'operator action through the admin API');
    expect(actions.map((entry) => [entry.subscription, entry.actor])).toEqual([
      ['A-named', 'token:ops-operator'],
      ['A-admin', 'ADMIN_TOKEN'],
    ]);
    expect(await listTokens(w.store)).toEqual([expect.objectContaining({ name: 'ops-operator', lastUsedAt: expect.any(String), revokedAt: null })]);
    await revokeToken(w.store, 'ops-operator', new Date());
    expect((await api.call('GET', '/api/queues', { token: operator })).status).toBe(401);
    expect(capture.entries().filter((entry) => entry.msg === 'admin API authentication failed')).toEqual([
      expect.objectContaining({ client: '127.0.0.1', method: 'GET', route: '/api/queues', reason: 'revoked', tokenName: 'ops-operator' }),
    ]);
    expect(capture.lines.join('')).not.toContain(operator);
  });

  it('tokens made and revoked with the CLI take effect on the running server at once; only the hash is stored', async () => {
    const { w, api } = await start();
    const cli = (args: string[]) => runLifecycle(['tokens', ...args], { dataDir: w.dir, env: { REDIS_URL: servers.redis.url, QUEUE_PREFIX: w.prefix } });
    const created = await cli(['create', 'ci-viewer', '--role', 'viewer']);
    expect(created).toMatchObject({ status: 0, stdout: expect.stringMatching(/^lct_[A-Za-z0-9_-]{43}\n$/) });
    expect(created.stderr).toContain('shown only now');
    const secret = created.stdout.trim();
    expect((await api.call('GET', '/api/queues', { token: secret })).status).toBe(200);
    expect((await api.call('POST', '/api/scans', { body: { dryRun: true }, token: secret })).status).toBe(403);
    expect(w.store.connection.prepare('SELECT token_hash FROM api_tokens').pluck().all()).toEqual([hashToken(secret)]);

    const again = await cli(['create', 'ci-viewer', '--role', 'operator']);
    expect(again).toMatchObject({ status: 1, stdout: '', stderr: 'error: token "ci-viewer" already exists (names are never reused, even once revoked)\n' });
    // Every name rule is in test/unit/tokens.test.ts; here, that the CLI says it and exits 1.
    for (const [name, role] of [['bad name', 'viewer'], ['ok', 'admin']] as const) {
      const refused = await cli(['create', name, '--role', role]);
      expect({ name, status: refused.status, stdout: refused.stdout }).toEqual({ name, status: 1, stdout: '' });
      expect(refused.stderr).toMatch(/^error: (token name|--role admin)/);
    }

    const listed = await cli(['list', '--json']);
    expect(listed.status).toBe(0);
    expect(listed.stdout).not.toContain(secret);
    expect(JSON.parse(listed.stdout)).toEqual({
      tokens: [{ name: 'ci-viewer', role: 'viewer', createdAt: expect.any(String), lastUsedAt: expect.any(String), revokedAt: null }],
    });
    expect((await cli(['list'])).stdout).toMatch(/^NAME\s+ROLE\s+CREATED\s+LAST USED\s+REVOKED\nci-viewer\s+viewer\s/);

    expect(await cli(['revoke', 'ci-viewer'])).toMatchObject({ status: 0, stdout: expect.stringContaining('token "ci-viewer" revoked at') });
    const refused = await api.call('GET', '/api/queues', { token: secret });
    expect(refused.status).toBe(401);
    expect(refused.json.error).toContain('("ci-viewer") was revoked');
    expect(await cli(['revoke', 'ci-viewer'])).toMatchObject({ status: 1, stderr: expect.stringMatching(/^error: token "ci-viewer" was already revoked/) });
    expect(await cli(['revoke', 'nobody'])).toMatchObject({ status: 1, stderr: 'error: no token "nobody" (lifecycle tokens list shows them)\n' });
    expect(JSON.parse((await cli(['list', '--json'])).stdout).tokens[0].revokedAt).toEqual(expect.any(String));
  });

  it('100 wrong tokens from one address: 401s, then 429 with Retry-After; logged without the token; another address still gets in', async () => {
    const capture = captureLog();
    const { w, api } = await start({ ADMIN_TOKEN: token }, D, { log: capture.log });
    const wrong = Array.from({ length: 100 }, (_, i) => `guess-${i}-${randomBytes(16).toString('hex')}`);
    const replies = [];
    for (const guess of wrong) replies.push(await api.call('GET', '/api/subscriptions?limit=1', { token: guess }));
    expect(replies.map((reply) => reply.status)).toEqual([...Array(10).fill(401), ...Array(90).fill(429)]);
    for (const reply of replies.slice(10)) {
      expect(Number(reply.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(reply.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      expect(reply.json.error).toMatch(/^too many failed authentications from 127\.0\.0\.1: try again in \d+ s$/);
    }
    // The address is refused whatever it sends until the window passes: no more guesses to test.
    expect((await api.call('GET', '/api/queues')).status).toBe(429);
    expect((await api.call('GET', '/api/queues', { localAddress: '127.0.0.2' })).status).toBe(200);
    expect((await api.call('GET', '/api/queues', { token: 'other-wrong', localAddress: '127.0.0.2' })).status).toBe(401);

    const entries = capture.entries();
    const failures = entries.filter((entry) => entry.msg === 'admin API authentication failed');
    expect(failures).toHaveLength(11);
    expect(failures[0]).toMatchObject({ level: 40, client: '127.0.0.1', method: 'GET', route: '/api/subscriptions', reason: 'wrong' });
    expect(failures[10]).toMatchObject({ client: '127.0.0.2', route: '/api/queues', reason: 'wrong' });
    expect(entries.filter((entry) => String(entry.msg).startsWith('admin API: too many failed authentications'))).toEqual([
      expect.objectContaining({ client: '127.0.0.1', route: '/api/subscriptions' }),
    ]);
    const text = capture.lines.join('');
    for (const secret of [...wrong, token, 'other-wrong']) expect(text).not.toContain(secret);
  });

  it('two daemons on one Redis count an address\'s failures together: six through one and four through the other block it on both', async () => {
    const { w, api } = await start();
    const other = await servers.openApi(w);
    for (let i = 0; i < 6; i++) expect((await api.call('GET', '/api/queues', { token: `wrong-${i}` })).status).toBe(401);
    for (let i = 0; i < 3; i++) expect((await other.call('GET', '/api/queues', { token: `wrong-${i}` })).status).toBe(401);
    expect((await other.call('GET', '/api/queues', { token: 'wrong-9' })).status).toBe(401);
    expect((await api.call('GET', '/api/queues')).status).toBe(429);
    expect((await other.call('GET', '/api/queues')).status).toBe(429);
  });

  it('while Redis is down, failures are not limited but still refused, a right token gets in, and the log says so once', async () => {
    const capture = captureLog();
    const { api } = await start({ ADMIN_TOKEN: token }, D, { log: capture.log });
    await servers.redis.pause();
    try {
      for (let i = 0; i < 12; i++) expect((await api.call('GET', '/api/subscriptions?limit=1', { token: `wrong-${i}` })).status).toBe(401);
      expect((await api.call('GET', '/api/subscriptions?limit=1')).status).toBe(200);
      expect(capture.entries().filter((entry) => String(entry.msg).startsWith('admin API: failed authentications are not limited'))).toHaveLength(1);
    } finally {
      await servers.redis.resume();
    }
  });
});

describe('admin API routes', () => {
  it('/healthz reports the database, Redis and SMTP, and 503 while SMTP is down', async () => {
    const { api } = await start();
    expect((await api.call('GET', '/healthz', { token: null })).json).toEqual({
      status: 'ok',
      checks: { database: { ok: true }, redis: { ok: true }, smtp: { ok: true, mode: 'smtp' } },
    });
    await servers.smtp.stop();
    try {
      const down = await api.call('GET', '/healthz', { token: null });
      expect(down.status).toBe(503);
      expect(down.json.status).toBe('degraded');
      // Unauthenticated: ok or not, no error text (paths, server replies, user names go to the log).
      expect(down.json.checks.smtp).toEqual({ ok: false, mode: 'smtp' });
      expect(down.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|error/);
      expect(down.json.checks.redis.ok).toBe(true);
    } finally {
      await servers.smtp.start();
    }
  });

  it('/healthz checks the outbox dir when SMTP_URL is unset', async () => {
    const { api } = await start({ ADMIN_TOKEN: token, ...outboxMail });
    expect((await api.call('GET', '/healthz')).json.checks.smtp).toEqual({ ok: true, mode: 'outbox' });
  });

  it('scans: a dry run lists what is due, a scan runs through the queue, shows in /api/scans and is counted in /metrics', async () => {
    const { w, api } = await start();
    await w.import([
      { id: 'M-remind', anniversaryOn: addDays(D, 5) },
      { id: 'M-renew', anniversaryOn: D, autoRenew: true, token: 'tok_visa' },
      { id: 'M-lapse', anniversaryOn: addDays(D, -31) },
    ]);
    const dry = await api.call('POST', '/api/scans', { body: { dryRun: true, asOf: D } });
    expect(dry.status).toBe(200);
    expect(dry.json).toEqual({
      asOf: D,
      dryRun: true,
      count: 3,
      truncated: false,
      actions: expect.arrayContaining([
        { subscription: 'M-remind', action: 'remind-before', anniversary: addDays(D, 5) },
        { subscription: 'M-renew', action: 'auto-renew', anniversary: D },
        { subscription: 'M-lapse', action: 'lapse', anniversary: addDays(D, -31) },
      ]),
    });
    expect(w.store.connection.prepare('SELECT COUNT(*) FROM scan_runs').pluck().get()).toBe(0);

    const scan = await api.call('POST', '/api/scans', { body: {} });
    expect(scan.status).toBe(200);
    expect(scan.json).toMatchObject({ jobId: expect.stringMatching(/^operator-/), asOf: D, due: 3, enqueued: 3, missed: 3 });
    await waitUntilIdle(api.runtime.queues.actions);

    const scans = await api.call('GET', '/api/scans');
    expect(scans.json.scans[0]).toMatchObject({ id: scan.json.scanId, asOf: D, trigger: 'operator', status: 'done', due: 3, enqueued: 3, missed: 3 });

    const metrics = await api.call('GET', '/metrics');
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    const samples = parseMetrics(metrics.text);
    expect(findSample(samples, 'lifecycle_scans_total', { trigger: 'operator', status: 'done' })).toBe(1);
    expect(findSample(samples, 'lifecycle_scan_duration_seconds_count', { trigger: 'operator' })).toBe(1);
    expect(findSample(samples, 'lifecycle_scan_actions_total', { result: 'due' })).toBe(3);
    expect(findSample(samples, 'lifecycle_scan_actions_total', { result: 'missed' })).toBe(3);
    expect(findSample(samples, 'lifecycle_actions_total', { action: 'remind-before', outcome: 'sent' })).toBe(1);
    expect(findSample(samples, 'lifecycle_actions_total', { action: 'auto-renew', outcome: 'renewed' })).toBe(1);
    expect(findSample(samples, 'lifecycle_actions_total', { action: 'lapse', outcome: 'lapsed' })).toBe(1);
    expect(findSample(samples, 'lifecycle_lapses_total')).toBe(1);
    expect(findSample(samples, 'lifecycle_renewals_total', { source: 'auto-renew', outcome: 'renewed' })).toBe(1);
    expect(findSample(samples, 'lifecycle_messages_sent_total', { kind: 'remind-before' })).toBe(1);
    expect(findSample(samples, 'lifecycle_messages_sent_total', { kind: 'auto-renew-receipt' })).toBe(1);
    expect(findSample(samples, 'lifecycle_messages_sent_total', { kind: 'lapsed' })).toBe(1);
    expect(findSample(samples, 'lifecycle_queue_jobs', { queue: 'scans', state: 'completed' })).toBe(1);
    expect(findSample(samples, 'lifecycle_queue_jobs', { queue: 'actions', state: 'failed' })).toBe(0);
  });

  it('subscriptions: filters and keyset pages of at most 500', async () => {
    const { w, api } = await start();
    await w.import(
      [
        { id: 'L-1', anniversaryOn: '2019-10-01' },
        { id: 'L-2', anniversaryOn: '2019-11-01', offer: 'competency' },
        { id: 'L-3', anniversaryOn: '2019-12-01', partnerId: 'P-2' },
        { id: 'L-4', anniversaryOn: '2020-01-01', offer: 'competency', partnerId: 'P-2' },
        { id: 'L-5', anniversaryOn: '2020-02-01' },
      ],
      [{ id: 'P-1' }, { id: 'P-2' }],
    );
    const ids = (reply: { json: { subscriptions: { id: string }[] } }) => reply.json.subscriptions.map((s) => s.id);
    const first = await api.call('GET', '/api/subscriptions?limit=2');
    expect(ids(first)).toEqual(['L-1', 'L-2']);
    expect(first.json.next).toBe('L-2');
    const second = await api.call('GET', `/api/subscriptions?limit=2&after=${first.json.next}`);
    expect(ids(second)).toEqual(['L-3', 'L-4']);
    const last = await api.call('GET', `/api/subscriptions?limit=2&after=${second.json.next}`);
    expect(ids(last)).toEqual(['L-5']);
    expect(last.json.next).toBeNull();
    expect(first.json.subscriptions[0]).toEqual({
      id: 'L-1',
      partner: 'P-1',
      offer: 'action_pack',
      competency: null,
      anniversary: '2019-10-01',
      status: 'active',
      statusToday: 'active',
      autoRenew: false,
      paymentMethod: null,
      nextDueOn: '2019-09-16',
      nextActions: ['remind-before'],
      pendingInvoice: null,
    });
    expect(ids(await api.call('GET', '/api/subscriptions?partner=P-2'))).toEqual(['L-3', 'L-4']);
    expect(ids(await api.call('GET', '/api/subscriptions?offer=competency'))).toEqual(['L-2', 'L-4']);
    expect(ids(await api.call('GET', '/api/subscriptions?anniversaryFrom=2019-11-01&anniversaryTo=2019-12-31'))).toEqual(['L-2', 'L-3']);
    expect(ids(await api.call('GET', '/api/subscriptions?partner=P-1&offer=action_pack&limit=1'))).toEqual(['L-1']);
    await api.call('POST', '/api/subscriptions/L-5/cancel', { body: { ticket: 'T-9', asOf: D } });
    expect(ids(await api.call('GET', '/api/subscriptions?status=cancelled'))).toEqual(['L-5']);
    expect((await api.call('GET', '/api/subscriptions?limit=500')).status).toBe(200);
    expect((await api.call('GET', '/api/subscriptions?limit=501')).json).toEqual({ error: 'querystring/limit must be <= 500' });
  });

  it('one subscription: the state and timeline `lifecycle show --json` prints', async () => {
    const { w, api } = await start();
    await w.import([{ id: 'T-1', anniversaryOn: addDays(D, 3) }]);
    await api.call('POST', '/api/scans', { body: { asOf: D } });
    await waitUntilIdle(api.runtime.queues.actions);
    const reply = await api.call('GET', `/api/subscriptions/T-1?asOf=${D}`);
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual(JSON.parse(JSON.stringify(await describeSubscription(w.store, 'T-1', D))));
    expect(reply.json).toMatchObject({ id: 'T-1', status: 'active', anniversary: addDays(D, 3), actions: [{ action: 'remind-before', outcome: 'sent' }] });
    const show = await runLifecycle(['show', 'T-1', '--as-of', D, '--json'], { dataDir: w.dir, env: { REDIS_URL: servers.redis.url, QUEUE_PREFIX: w.prefix } });
    expect(JSON.parse(show.stdout)).toEqual(reply.json);
    expect(reply.json.notices[0]).toMatchObject({ kind: 'remind-before', status: 'sent' });
    expect((await api.call('GET', '/api/subscriptions/T-404')).status).toBe(404);
  });

  it('operator actions: renew, cancel, reactivate; 409 with the rule when refused, 404 for an unknown id', async () => {
    const { w, api } = await start();
    await w.import([
      { id: 'O-window', anniversaryOn: addDays(D, -5), token: 'tok_visa' },
      { id: 'O-early', anniversaryOn: addDays(D, 40), token: 'tok_visa' },
      { id: 'O-cancel', anniversaryOn: addDays(D, 40) },
    ]);
    const renewed = await api.call('POST', '/api/subscriptions/O-window/renew', { body: { asOf: D } });
    expect(renewed.status).toBe(200);
    expect(renewed.json).toMatchObject({
      subscription: 'O-window',
      outcome: 'renewed',
      newAnniversary: addDays(D, -5 + 365),
      invoice: expect.stringMatching(/^INV-2019-/),
      delivery: 'the notice is queued for delivery',
    });
    await waitUntilIdle(api.runtime.queues.actions);
    expect(servers.smtp.messages.some((m) => m.headers.get('x-lifecycle-subscription') === 'O-window' && m.headers.get('x-lifecycle-notice') === 'renewed')).toBe(true);
    expect(findSample(parseMetrics((await api.call('GET', '/metrics')).text), 'lifecycle_renewals_total', { source: 'operator', outcome: 'renewed' })).toBe(1);

    const early = await api.call('POST', '/api/subscriptions/O-early/renew', { body: { asOf: D } });
    expect(early.status).toBe(409);
    expect(early.json).toEqual({ error: expect.stringContaining('window opens on'), rule: 'R6' });

    const noTicket = await api.call('POST', '/api/subscriptions/O-cancel/cancel', { body: { asOf: D } });
    expect(noTicket.status).toBe(400);
    expect(noTicket.json.error).toBe("body must have required property 'ticket'");
    const cancelled = await api.call('POST', '/api/subscriptions/O-cancel/cancel', { body: { ticket: 'SR-42', asOf: D } });
    expect(cancelled.json).toMatchObject({ subscription: 'O-cancel', outcome: 'cancelled' });
    expect(w.store.connection.prepare("SELECT status, cancel_ticket FROM subscriptions WHERE id = 'O-cancel'").get()).toEqual({ status: 'cancelled', cancel_ticket: 'SR-42' });

    const reactivate = await api.call('POST', '/api/subscriptions/O-early/reactivate');
    expect(reactivate.status).toBe(409);
    expect(reactivate.json.rule).toEqual(expect.any(String));

    const unknown = await api.call('POST', '/api/subscriptions/O-404/renew', { body: {} });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toContain('no subscription "O-404"');
  });

  it('invoices: JSON, a plain-text attachment, and confirming a pending one', async () => {
    const { w, api } = await start();
    await w.import([{ id: 'I-bank', anniversaryOn: addDays(D, -3), bankTransfer: true }]);
    const pending = await api.call('POST', '/api/subscriptions/I-bank/renew', { body: { asOf: D } });
    expect(pending.json).toMatchObject({ outcome: 'pending-payment', invoice: expect.any(String) });
    const number = pending.json.invoice as string;

    const json = await api.call('GET', `/api/invoices/${number}`);
    expect(json.json).toMatchObject({
      number,
      status: 'pending',
      purpose: 'renewal',
      subscription: 'I-bank',
      offerName: 'Action Pack',
      amount: '475.00',
      currency: 'USD',
      method: 'bank_transfer',
      issuedOn: D,
      partner: { id: 'P-1', name: 'Partner P-1', billTo: { line1: '1 Test Rd', city: 'Taipei', postalCode: '100', country: 'TW' } },
    });
    const text = await api.call('GET', `/api/invoices/${number}?format=text`);
    expect(text.status).toBe(200);
    expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(text.headers.get('content-disposition')).toBe(`attachment; filename="${number}.txt"`);
    expect(text.text).toContain(`INVOICE ${number}`);
    expect(text.text).toMatch(/Amount: +475\.00 USD/);
    expect(text.text).toMatch(/Status: +pending/);

    const confirmed = await api.call('POST', `/api/invoices/${number}/confirm`, { body: { asOf: addDays(D, 2) } });
    expect(confirmed.json).toMatchObject({ outcome: 'renewed', invoice: number, newAnniversary: addDays(D, -3 + 365) });
    expect((await api.call('GET', `/api/invoices/${number}`)).json).toMatchObject({ status: 'paid', paidOn: addDays(D, 2) });
    const again = await api.call('POST', `/api/invoices/${number}/confirm`, { body: {} });
    expect(again.status).toBe(409);
    expect(again.json).toEqual({ error: `invoice ${number} is paid, not pending`, rule: 'R12' });
    expect(findSample(parseMetrics((await api.call('GET', '/metrics')).text), 'lifecycle_renewals_total', { source: 'payment-confirmed', outcome: 'renewed' })).toBe(1);
    expect((await api.call('GET', '/api/invoices/INV-1999-999999')).status).toBe(404);
    expect((await api.call('POST', '/api/invoices/INV-1999-999999/confirm', { body: {} })).status).toBe(404);
  });

  it('plan: what each day brings from the current state, renewals not predicted', async () => {
    const { w, api } = await start();
    await w.import([
      { id: 'P-auto', anniversaryOn: addDays(D, 20), autoRenew: true, token: 'tok_visa' },
      { id: 'P-comp', anniversaryOn: addDays(D, 2), offer: 'competency' },
      { id: 'P-far', anniversaryOn: addDays(D, 200) },
    ]);
    const plan = await api.call('GET', `/api/plan?from=${D}&to=${addDays(D, 60)}`);
    expect(plan.status).toBe(200);
    const days = (plan.json.days as { date: string; actions: { subscription: string; action: string }[] }[]).map((d) => [
      d.date,
      d.actions.map((a) => `${a.subscription}:${a.action}`),
    ]);
    expect(days).toEqual([
      [D, ['P-comp:remind-before']],
      [addDays(D, 5), ['P-auto:remind-before']],
      [addDays(D, 20), ['P-auto:auto-renew']],
      [addDays(D, 25), ['P-comp:remind-after']],
      [addDays(D, 33), ['P-comp:lapse']],
      [addDays(D, 43), ['P-auto:remind-after']],
      [addDays(D, 51), ['P-auto:lapse']],
    ]);
    expect(plan.json).toMatchObject({ from: D, to: addDays(D, 60), total: 7, note: expect.stringContaining('renewals are not predicted') });
    // The plan has no effects.
    expect(await w.ledger()).toEqual([]);
    expect((await api.call('GET', '/api/plan')).json).toMatchObject({ from: D, to: addDays(D, 30) });
    expect((await api.call('GET', `/api/plan?from=${D}&to=${addDays(D, 399)}`)).status).toBe(200);
    const tooLong = await api.call('GET', `/api/plan?from=${D}&to=${addDays(D, 400)}`);
    expect(tooLong.status).toBe(400);
    expect(tooLong.json.error).toContain('at most 400');
    const backwards = await api.call('GET', `/api/plan?from=${D}&to=${addDays(D, -1)}`);
    expect(backwards.json).toEqual({ error: `querystring/to ${addDays(D, -1)} is before from ${D}` });
  });

  it('failed jobs are listed and retried; undeliverable notices and queue counts are shown', async () => {
    const { w, api } = await start();
    await w.import(
      [
        { id: 'F-1', anniversaryOn: addDays(D, 5) },
        { id: 'U-1', anniversaryOn: addDays(D, 5), partnerId: 'P-none' },
      ],
      [{ id: 'P-1' }, { id: 'P-none', contacts: 0 }],
    );
    servers.smtp.setRejecting({ code: 550, message: 'mailbox unavailable' });
    await api.call('POST', '/api/scans', { body: {} });
    await waitUntilIdle(api.runtime.queues.actions);
    const jobId = `remind-before.F-1.${addDays(D, 5)}`;
    const failed = await api.call('GET', '/api/jobs/failed');
    expect(failed.json.jobs).toEqual([
      expect.objectContaining({ queue: 'actions', id: jobId, name: 'remind-before', reason: expect.stringContaining('550'), data: expect.objectContaining({ subscription: 'F-1' }) }),
    ]);
    const queues = await api.call('GET', '/api/queues');
    expect(queues.json.actions).toMatchObject({ failed: 1, waiting: 0, active: 0 });
    expect(queues.json.scans).toMatchObject({ completed: 1 });
    const undeliverable = await api.call('GET', '/api/notices/undeliverable');
    expect(undeliverable.json.notices).toEqual([
      expect.objectContaining({ subscription: 'U-1', partner: 'P-none', kind: 'remind-before', anniversary: addDays(D, 5) }),
    ]);
    expect(findSample(parseMetrics((await api.call('GET', '/metrics')).text), 'lifecycle_messages_failed_total', { kind: 'remind-before', reason: 'permanent' })).toBe(1);

    servers.smtp.setRejecting(undefined);
    const retried = await api.call('POST', `/api/jobs/${encodeURIComponent(jobId)}/retry`);
    expect(retried.json).toEqual({ retried: jobId, queue: 'actions' });
    await waitUntilIdle(api.runtime.queues.actions);
    expect((await w.ledger()).find((r) => r.subscription === 'F-1')?.outcome).toBe('sent');
    expect((await api.call('GET', '/api/jobs/failed')).json.jobs).toEqual([]);
    const notFailed = await api.call('POST', `/api/jobs/${encodeURIComponent(jobId)}/retry`);
    expect(notFailed.status).toBe(409);
    expect(notFailed.json.error).toMatch(/is not failed/);
    expect((await api.call('POST', '/api/jobs/no-such-job/retry')).status).toBe(404);
  });

  it('refuses invalid bodies and queries with 400 and the reason', async () => {
    const { api } = await start();
    const cases: [method: string, path: string, body: unknown, error: string | RegExp][] = [
      ['POST', '/api/scans', { asOf: '2019-02-30' }, 'body/asOf: not a real calendar date (expected YYYY-MM-DD)'],
      ['POST', '/api/scans', { asOf: '30/09/2019' }, 'body/asOf: not a real calendar date (expected YYYY-MM-DD)'],
      ['POST', '/api/scans', { dryRun: 'maybe' }, 'body/dryRun must be boolean'],
      ['POST', '/api/scans', { dryrun: true }, 'body: unknown field "dryrun"'],
      ['POST', '/api/scans', [1], 'body must be object'],
      ['POST', '/api/subscriptions/S-1/cancel', { ticket: '' }, 'body/ticket must NOT have fewer than 1 characters'],
      ['POST', '/api/subscriptions/S-1/renew', { asOf: 20190930 }, 'body/asOf: not a real calendar date (expected YYYY-MM-DD)'],
      ['GET', '/api/subscriptions?status=gone', undefined, 'querystring/status must be equal to one of the allowed values'],
      ['GET', '/api/subscriptions?limit=0', undefined, 'querystring/limit must be >= 1'],
      ['GET', '/api/subscriptions?sort=id', undefined, 'querystring: unknown field "sort"'],
      ['GET', '/api/plan?from=2019-13-01', undefined, 'querystring/from: not a real calendar date (expected YYYY-MM-DD)'],
      ['GET', '/api/invoices/INV-1?format=pdf', undefined, 'querystring/format must be equal to one of the allowed values'],
      ['GET', '/api/scans?limit=many', undefined, 'querystring/limit must be integer'],
    ];
    for (const [method, path, body, error] of cases) {
      const reply = await api.call(method, path, { body });
      expect({ path, body, status: reply.status }).toEqual({ path, body, status: 400 });
      expect(reply.json.error).toEqual(typeof error === 'string' ? error : expect.stringMatching(error));
    }
    const broken = await api.call('POST', '/api/scans', { rawBody: '{"asOf":' });
    expect(broken.status).toBe(400);
    expect(broken.json.error).toMatch(/JSON/i);
  });
});
