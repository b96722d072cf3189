import { sql } from 'drizzle-orm';
import type { FastifyRequest } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createSessions, findSessionCookieName, sessionCookie, type SessionOptions } from '../../src/ops/session.js';
import type { Store } from '../../src/store/executor.js';
import { createToken, revokeToken } from '../../src/store/tokens.js';
import { storeBackends, type StorePlace } from '../../support/backends.js';

const adminToken = 'console-sessions-admin-token-0123456789';
const admin = { name: 'ADMIN_TOKEN', role: 'operator' as const, ref: 'ADMIN_TOKEN' };

function request(id: string | undefined, method = 'GET', headers: Record<string, string> = {}, url = '/api/scans'): FastifyRequest {
  return { cookies: id ? { [sessionCookie]: id } : {}, method, headers: { host: 'console.test', ...headers }, url } as unknown as FastifyRequest;
}

describe('console session cookies', () => {
  it('are named after the port the request came to: two daemons on one host keep theirs apart', () => {
    expect(findSessionCookieName({ headers: { host: '127.0.0.1:8788' } })).toBe('lifecycle_session_8788');
    expect(findSessionCookieName({ headers: { host: '[::1]:8787' } })).toBe('lifecycle_session_8787');
    expect(findSessionCookieName({ headers: { host: 'lifecycle.example' } })).toBe('lifecycle_session');
  });
});

describe.each(await storeBackends())('console sessions on $name', (backend) => {
  let place: StorePlace | undefined;
  afterEach(async () => {
    await place?.drop();
    place = undefined;
  });

  async function start(): Promise<Store> {
    place = await backend.create();
    return place.connect();
  }
  const sessionsOn = (store: Store, options: Partial<SessionOptions> = {}) => createSessions({ store, adminToken, ...options });

  it('end at their expiry, to the millisecond', async () => {
    const store = await start();
    let now = 1_000_000;
    const sessions = sessionsOn(store, { ttlMs: 60_000, nowMs: () => now });
    const { id, session } = await sessions.create(admin, adminToken);
    expect(session.expiresAtMs).toBe(1_060_000);
    now = 1_059_999;
    expect(await sessions.authenticate(request(id))).toEqual({ actor: admin });
    now = 1_060_000;
    expect(await sessions.authenticate(request(id))).toMatchObject({ reason: 'expired', status: 401 });
    expect(await sessions.count()).toBe(0);
    expect(await sessions.authenticate(request(undefined))).toBeNull();
    expect(await sessions.authenticate(request('made-up'))).toMatchObject({ reason: 'expired' });
  });

  it('a change needs the CSRF token; under /queues a same-origin Origin will do', async () => {
    const sessions = sessionsOn(await start());
    const { id, session } = await sessions.create(admin, adminToken);
    expect(await sessions.authenticate(request(id, 'POST'))).toMatchObject({ reason: 'csrf', status: 403 });
    expect(await sessions.authenticate(request(id, 'POST', { 'x-csrf-token': session.csrf }))).toEqual({ actor: admin });
    expect(await sessions.authenticate(request(id, 'POST', { origin: 'http://console.test' }))).toMatchObject({ reason: 'csrf' });
    const board = '/queues/api/queues/actions/retry/failed';
    expect(await sessions.authenticate(request(id, 'PUT', { origin: 'http://console.test' }, board))).toEqual({ actor: admin });
    expect(await sessions.authenticate(request(id, 'PUT', { origin: 'http://evil.test' }, board))).toMatchObject({ reason: 'csrf' });
    expect(await sessions.authenticate(request(id, 'PUT', {}, board))).toMatchObject({ reason: 'csrf' });
  });

  it('keep at most maxSessions, dropping the oldest', async () => {
    let now = 1_000;
    const sessions = sessionsOn(await start(), { maxSessions: 2, nowMs: () => now++ });
    const [a, b, c] = [await sessions.create(admin, adminToken), await sessions.create(admin, adminToken), await sessions.create(admin, adminToken)];
    expect(await sessions.count()).toBe(2);
    expect(await sessions.authenticate(request(a.id))).toMatchObject({ reason: 'expired' });
    expect(await sessions.authenticate(request(b.id))).toEqual({ actor: admin });
    expect(await sessions.authenticate(request(c.id))).toEqual({ actor: admin });
  });

  it('are known to every daemon on the database, and survive a restart; the cookie itself is not stored', async () => {
    const store = await start();
    const { id } = await sessionsOn(store).create(admin, adminToken);
    const otherDaemon = sessionsOn(store);
    const onOther = request(id);
    expect(await otherDaemon.authenticate(onOther)).toEqual({ actor: admin });
    const rows = await store.all(sql`SELECT * FROM console_sessions`);
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(id);
    await otherDaemon.destroy(onOther.session!); // signed out there: ended here too
    expect(await sessionsOn(store).authenticate(request(id))).toMatchObject({ reason: 'expired' });
  });

  it('end when their token is revoked, or when ADMIN_TOKEN has changed', async () => {
    const store = await start();
    const { token } = await createToken(store, 'alice', 'viewer', new Date());
    const sessions = sessionsOn(store);
    const named = await sessions.create({ name: 'alice', role: 'viewer', ref: 'token:alice' }, token);
    const bootstrap = await sessions.create(admin, adminToken);
    expect(await sessions.authenticate(request(named.id))).toEqual({ actor: { name: 'alice', role: 'viewer', ref: 'token:alice' } });
    await revokeToken(store, 'alice', new Date());
    expect(await sessions.authenticate(request(named.id))).toMatchObject({ reason: 'revoked', message: 'the token "alice" of this session was revoked: sign in again' });
    const restartedWithNewToken = sessionsOn(store, { adminToken: `${adminToken}-rotated` });
    expect(await restartedWithNewToken.authenticate(request(bootstrap.id))).toMatchObject({ reason: 'revoked', message: 'ADMIN_TOKEN has changed since this session signed in: sign in again' });
    expect(await sessions.count()).toBe(0);
  });
});
