import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createSessions, findSessionCookieName, sessionCookie } from '../../src/ops/session.js';
import type { SqliteStore as Store } from '../../src/store/sqlite.js';

const admin = { name: 'ADMIN_TOKEN', role: 'operator' as const, ref: 'ADMIN_TOKEN' };
/** ADMIN_TOKEN sessions never look a token up: no store is needed. */
const noStore = {} as Store;

function request(id: string | undefined, method = 'GET', headers: Record<string, string> = {}, url = '/api/scans'): FastifyRequest {
  return { cookies: id ? { [sessionCookie]: id } : {}, method, headers: { host: 'console.test', ...headers }, url } as unknown as FastifyRequest;
}

describe('console sessions', () => {
  it('name their cookie after the port the request came to: two daemons on one host keep theirs apart', () => {
    expect(findSessionCookieName({ headers: { host: '127.0.0.1:8788' } })).toBe('lifecycle_session_8788');
    expect(findSessionCookieName({ headers: { host: '[::1]:8787' } })).toBe('lifecycle_session_8787');
    expect(findSessionCookieName({ headers: { host: 'lifecycle.example' } })).toBe('lifecycle_session');
  });

  it('end at their expiry, to the millisecond', async () => {
    let now = 1_000_000;
    const sessions = createSessions({ store: noStore, ttlMs: 60_000, nowMs: () => now });
    const session = sessions.create(admin, null);
    expect(session.expiresAtMs).toBe(1_060_000);
    now = 1_059_999;
    expect(await sessions.authenticate(request(session.id))).toEqual({ actor: admin });
    now = 1_060_000;
    expect(await sessions.authenticate(request(session.id))).toMatchObject({ reason: 'expired', status: 401 });
    expect(sessions.size).toBe(0);
    expect(await sessions.authenticate(request(undefined))).toBeNull();
    expect(await sessions.authenticate(request('made-up'))).toMatchObject({ reason: 'expired' });
  });

  it('a change needs the CSRF token; under /queues a same-origin Origin will do', async () => {
    const sessions = createSessions({ store: noStore });
    const { id, csrf } = sessions.create(admin, null);
    expect(await sessions.authenticate(request(id, 'POST'))).toMatchObject({ reason: 'csrf', status: 403 });
    expect(await sessions.authenticate(request(id, 'POST', { 'x-csrf-token': csrf }))).toEqual({ actor: admin });
    expect(await sessions.authenticate(request(id, 'POST', { origin: 'http://console.test' }))).toMatchObject({ reason: 'csrf' });
    const board = '/queues/api/queues/actions/retry/failed';
    expect(await sessions.authenticate(request(id, 'PUT', { origin: 'http://console.test' }, board))).toEqual({ actor: admin });
    expect(await sessions.authenticate(request(id, 'PUT', { origin: 'http://evil.test' }, board))).toMatchObject({ reason: 'csrf' });
    expect(await sessions.authenticate(request(id, 'PUT', {}, board))).toMatchObject({ reason: 'csrf' });
  });

  it('keep at most maxSessions, dropping the oldest', async () => {
    const sessions = createSessions({ store: noStore, maxSessions: 2 });
    const [a, b, c] = [sessions.create(admin, null), sessions.create(admin, null), sessions.create(admin, null)];
    expect(sessions.size).toBe(2);
    expect(await sessions.authenticate(request(a.id))).toMatchObject({ reason: 'expired' });
    expect(await sessions.authenticate(request(b.id))).toEqual({ actor: admin });
    expect(await sessions.authenticate(request(c.id))).toEqual({ actor: admin });
  });
});
