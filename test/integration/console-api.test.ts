import { describe, expect, it } from 'vitest';
import { waitUntilIdle } from '../../src/jobs/queues.js';
import { addDays } from '../../src/policy/dates.js';
import { createToken, revokeToken } from '../../src/store/tokens.js';
import { useAdminWorlds, type AdminHarness } from '../helpers/admin.js';
import type { World } from '../helpers/world.js';

const D = '2019-09-30';
const token = 'console-api-token-for-tests-7';

const servers = useAdminWorlds();

async function start(): Promise<{ w: World; api: AdminHarness }> {
  return servers.start({ ADMIN_TOKEN: token }, D);
}

interface Reply {
  status: number;
  headers: Headers;
  json: any;
  text: string;
}

/** A browser-like call: the cookie, and whatever headers it sends (Origin, CSRF). */
async function send(api: AdminHarness, method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Reply> {
  const response = await fetch(`${api.baseUrl}${path}`, {
    method,
    redirect: 'manual',
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json, text };
}

async function signIn(api: AdminHarness, bearer = token): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const reply = await send(api, 'POST', '/api/session', { authorization: `Bearer ${bearer}` });
  expect(reply.status).toBe(200);
  const setCookie = reply.headers.get('set-cookie')!;
  return { cookie: setCookie.split(';')[0]!, csrf: reply.json.csrf as string, setCookie };
}

describe('console sessions', () => {
  it('a token becomes an HttpOnly, SameSite=Strict cookie; a POST with it needs the CSRF header; sign-out ends it', async () => {
    const { api } = await start();
    const { cookie, csrf, setCookie } = await signIn(api);
    expect(setCookie).toBe(`lifecycle_session_${new URL(api.baseUrl).port}=${cookie.split('=')[1]}; Max-Age=28800; Path=/; HttpOnly; SameSite=Strict`);
    expect(cookie).toMatch(/^lifecycle_session_\d+=[\w-]{43}$/);
    expect(csrf).toMatch(/^[\w-]{32}$/);

    const session = await send(api, 'GET', '/api/session', { cookie });
    expect(session.json).toEqual({ name: 'ADMIN_TOKEN', role: 'operator', ref: 'ADMIN_TOKEN', csrf, expiresAt: expect.any(String) });
    // A bearer request has no session: no CSRF token to give.
    expect((await api.call('GET', '/api/session')).json).toEqual({ name: 'ADMIN_TOKEN', role: 'operator', ref: 'ADMIN_TOKEN' });

    const forged = await send(api, 'POST', '/api/scans', { cookie }, { dryRun: true });
    expect(forged.status).toBe(403);
    expect(forged.json.error).toContain('x-csrf-token');
    expect((await send(api, 'POST', '/api/scans', { cookie, 'x-csrf-token': `${csrf.slice(0, -1)}x` }, { dryRun: true })).status).toBe(403);
    expect((await send(api, 'POST', '/api/scans', { cookie, 'x-csrf-token': csrf }, { dryRun: true })).status).toBe(200);
    // A session cannot make another: signing in takes the token itself.
    expect((await send(api, 'POST', '/api/session', { cookie, 'x-csrf-token': csrf })).status).toBe(400);

    const out = await send(api, 'DELETE', '/api/session', { cookie, 'x-csrf-token': csrf });
    expect(out.json).toEqual({ signedOut: true });
    expect(out.headers.get('set-cookie')).toMatch(/^lifecycle_session_\d+=; Max-Age=0; Path=\/; HttpOnly; SameSite=Strict$/);
    const after = await send(api, 'GET', '/api/session', { cookie });
    expect(after.status).toBe(401);
    expect(after.json.error).toContain('sign in again');
    // Bearer tokens keep working for the API.
    expect((await api.call('GET', '/api/queues')).status).toBe(200);
  });

  it('revoking a named token ends its sessions at once; a viewer session may not act', async () => {
    const { w, api } = await start();
    const viewer = (await createToken(w.store, 'desk', 'viewer', new Date())).token;
    const { cookie, csrf } = await signIn(api, viewer);
    expect((await send(api, 'GET', '/api/subscriptions', { cookie })).status).toBe(200);
    const refused = await send(api, 'POST', '/api/scans', { cookie, 'x-csrf-token': csrf }, { dryRun: true });
    expect(refused).toMatchObject({ status: 403, json: { error: 'token "desk" has the viewer role; POST /api/scans needs operator' } });
    await revokeToken(w.store, 'desk', new Date());
    const revoked = await send(api, 'GET', '/api/subscriptions', { cookie });
    expect(revoked.status).toBe(401);
    expect(revoked.json.error).toBe('the token "desk" of this session was revoked: sign in again');
  });
});

describe('the job board at /queues', () => {
  it('takes the same authentication: a browser is sent to sign in, the API answers 401, a viewer may look but not retry', async () => {
    const { w, api } = await start();
    const toSignIn = await send(api, 'GET', '/queues', { accept: 'text/html' });
    expect(toSignIn.status).toBe(302);
    expect(toSignIn.headers.get('location')).toBe('/?next=%2Fqueues');
    expect((await send(api, 'GET', '/queues/api/queues')).status).toBe(401);
    expect((await send(api, 'GET', '/queues/api/queues', { authorization: 'Bearer wrong' })).status).toBe(401);

    const { cookie } = await signIn(api);
    const page = await send(api, 'GET', '/queues', { cookie, accept: 'text/html' });
    expect(page.status).toBe(200);
    expect(page.text).toContain('<title>Lifecycle jobs</title>');
    expect(page.text).not.toContain('googleapis');
    const queues = await send(api, 'GET', '/queues/api/queues', { cookie });
    expect(queues.json.queues.map((q: { name: string }) => q.name).sort()).toEqual(['actions', 'scans']);
    expect(queues.json.queues.map((q: { readOnlyMode: boolean; allowRetries: boolean }) => [q.readOnlyMode, q.allowRetries])).toEqual([[false, true], [false, true]]);

    // The board's own requests carry no CSRF header: same-origin ones pass, a cross-site one does not.
    const host = new URL(api.baseUrl).host;
    expect((await send(api, 'PUT', '/queues/api/queues/actions/retry/failed', { cookie, origin: api.baseUrl, host })).status).toBe(200);
    expect((await send(api, 'PUT', '/queues/api/queues/actions/retry/failed', { cookie, origin: 'https://evil.example' })).status).toBe(403);
    expect((await send(api, 'PUT', '/queues/api/queues/actions/retry/failed', { cookie })).status).toBe(403);
    // What the daemon owns is not offered, to an operator either.
    const obliterate = await send(api, 'PUT', '/queues/api/queues/scans/obliterate', { authorization: `Bearer ${token}` });
    expect(obliterate.status).toBe(403);
    expect(obliterate.json.error).toContain('the daemon owns the rest');

    const viewer = (await createToken(w.store, 'board-viewer', 'viewer', new Date())).token;
    const seenByViewer = await send(api, 'GET', '/queues/api/queues', { authorization: `Bearer ${viewer}` });
    expect(seenByViewer.status).toBe(200);
    // The board shows a viewer no retry, clean or pause buttons.
    expect(seenByViewer.json.queues.map((q: { readOnlyMode: boolean; allowRetries: boolean }) => [q.readOnlyMode, q.allowRetries])).toEqual([[true, false], [true, false]]);
    const retry = await send(api, 'PUT', '/queues/api/queues/actions/retry/failed', { authorization: `Bearer ${viewer}` });
    expect(retry).toMatchObject({ status: 403, json: { error: expect.stringContaining('has the viewer role') } });
  });
});

describe('the subscription list', () => {
  it('filters by id prefix, status, offer, partner and due-within, in keyset pages', async () => {
    const { w, api } = await start();
    await w.import(
      [
        { id: 'A-1', anniversaryOn: addDays(D, 40) },
        { id: 'A-2', anniversaryOn: addDays(D, 10), partnerId: 'P-2' },
        { id: 'A-3', anniversaryOn: addDays(D, 25), offer: 'competency' },
        { id: 'B-1', anniversaryOn: addDays(D, 200) },
        { id: 'B-2', anniversaryOn: addDays(D, 12) },
      ],
      [{ id: 'P-1' }, { id: 'P-2' }],
    );
    const ids = (reply: Reply) => (reply.json.subscriptions as { id: string }[]).map((s) => s.id);
    const call = (query: string) => api.call('GET', `/api/subscriptions?${query}`) as Promise<Reply>;
    expect(ids(await call('q=A-'))).toEqual(['A-1', 'A-2', 'A-3']);
    expect(ids(await call('q=B'))).toEqual(['B-1', 'B-2']);
    expect(ids(await call('partner=P-2'))).toEqual(['A-2']);
    expect(ids(await call('offer=competency'))).toEqual(['A-3']);
    // Due within 0 days: what is due today or overdue (the reminder 15 days before each anniversary), in due-day order.
    const due = await call('dueWithin=0');
    expect(due.json.subscriptions.map((s: { id: string; nextDueOn: string; nextActions: string[] }) => [s.id, s.nextDueOn, s.nextActions])).toEqual([
      ['A-2', addDays(D, -5), ['remind-before']],
      ['B-2', addDays(D, -3), ['remind-before']],
    ]);
    const soon = await call('dueWithin=10');
    expect(soon.json.subscriptions.map((s: { id: string; nextDueOn: string }) => [s.id, s.nextDueOn])).toEqual([
      ['A-2', addDays(D, -5)],
      ['B-2', addDays(D, -3)],
      ['A-3', addDays(D, 10)],
    ].sort((a, b) => (a[1]! < b[1]! ? -1 : 1)));

    // Pages: the cursor of a due-ordered page holds the day and the id.
    const first = await call('dueWithin=30&limit=2');
    expect(first.json.next).toMatch(/^[\w-]+$/);
    const second = await call(`dueWithin=30&limit=2&after=${first.json.next}`);
    const all = await call('dueWithin=30');
    expect([...ids(first), ...ids(second)]).toEqual(ids(all).slice(0, 4));
    expect((await call('dueWithin=30&after=not-a-cursor')).status).toBe(400);
    const idPages = [await call('limit=2')];
    while (idPages[idPages.length - 1]!.json.next) idPages.push(await call(`limit=2&after=${idPages[idPages.length - 1]!.json.next}`));
    expect(idPages.flatMap(ids)).toEqual(['A-1', 'A-2', 'A-3', 'B-1', 'B-2']);
    expect((await call('dueWithin=401')).status).toBe(400);

    await api.call('POST', '/api/subscriptions/B-2/cancel', { body: { ticket: 'T-1', asOf: D } });
    expect(ids(await call('status=cancelled'))).toEqual(['B-2']);
    expect(ids(await call('status=active&q=B'))).toEqual(['B-1']);
  });
});

describe('notices, forecast and OpenAPI', () => {
  it('a notice renders as its email behind a sandbox policy; the forecast sums the plan', async () => {
    const { w, api } = await start();
    await w.import([
      { id: 'N-1', anniversaryOn: addDays(D, 4) },
      { id: 'N-2', anniversaryOn: addDays(D, 20), autoRenew: true, token: 'tok_visa' },
      { id: 'N-3', anniversaryOn: addDays(D, 50), autoRenew: true, token: 'tok_visa' },
    ]);
    const scan = (await api.call('POST', '/api/scans', { body: { asOf: D } })).json;
    await waitUntilIdle(api.runtime.queues.actions);
    // What the scan returned through the queue, redelivered included (GET /api/scans has no such column).
    expect((await api.call('GET', '/api/scans/results')).json.results).toEqual([
      { scanId: scan.scanId, asOf: D, due: scan.due, enqueued: scan.enqueued, missed: scan.missed, redelivered: 0, finishedAt: expect.any(String) },
    ]);
    const { notices } = (await api.call('GET', '/api/subscriptions/N-1')).json as { notices: { messageId: string }[] };
    const email = await api.call('GET', `/api/notices/${encodeURIComponent(notices[0]!.messageId)}/email`);
    expect(email.status).toBe(200);
    expect(email.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(email.headers.get('content-security-policy')).toMatch(/^sandbox; default-src 'none'/);
    expect(email.text).toContain('N-1');
    expect((await api.call('GET', '/api/notices/nope/email')).status).toBe(404);

    const forecast = (await api.call('GET', `/api/forecast?from=${D}`)).json;
    expect(forecast.days).toHaveLength(90);
    expect(forecast.weeks).toHaveLength(13);
    const plan = (await api.call('GET', `/api/plan?from=${D}&to=${addDays(D, 89)}&limit=5000`)).json as { days: { actions: { action: string }[] }[] };
    const planned = plan.days.flatMap((d) => d.actions).filter((a) => a.action === 'auto-renew').length;
    expect(planned).toBe(2);
    expect(forecast.weeks.reduce((sum: number, week: { renewals: number }) => sum + week.renewals, 0)).toBe(planned);
    expect(forecast.days.reduce((sum: number, day: { revenueMinor: { USD?: number } }) => sum + (day.revenueMinor.USD ?? 0), 0)).toBe(2 * 47_500);
    // N-1 does not renew by itself: its lapse is in the forecast; those of N-2 and N-3 are not.
    expect(forecast.weeks.reduce((sum: number, week: { lapses: number }) => sum + week.lapses, 0)).toBe(1);
  });

  it('OpenAPI gives every route its error answers and the new routes their response schemas', async () => {
    const { api } = await start();
    const openapi = (await api.call('GET', '/openapi.json')).json as { paths: Record<string, Record<string, { responses: Record<string, any> }>> };
    for (const [path, methods] of Object.entries(openapi.paths).filter(([path]) => path !== '/healthz')) {
      for (const [method, operation] of Object.entries(methods)) {
        const codes = Object.keys(operation.responses);
        const expected = ['400', '401', '403', '429', ...(path.includes('{') ? ['404'] : []), ...(method !== 'get' ? ['409'] : [])];
        expect({ route: `${method} ${path}`, codes: expected.filter((code) => !codes.includes(code)) }).toEqual({ route: `${method} ${path}`, codes: [] });
        expect(operation.responses['401'].content['application/json'].schema.required).toEqual(['error']);
      }
    }
    expect(Object.keys(openapi.paths).some((path) => path.startsWith('/queues'))).toBe(false);
    expect(openapi.paths['/api/subscriptions']!.get!.responses['200'].content['application/json'].schema.properties.next).toBeDefined();
    expect(openapi.paths['/api/forecast']!.get!.responses['200']).toBeDefined();
  });
});
