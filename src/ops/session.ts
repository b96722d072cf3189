import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InputError } from '../errors.js';
import type { Store } from '../store/executor.js';
import { countSessions, deleteSession, findSession, insertSession, type StoredSession } from '../store/sessions.js';
import { findTokenByHash, hashToken } from '../store/tokens.js';
import type { ApiActor } from './auth.js';

/**
 * Console sessions: a token, presented once as `Authorization: Bearer` to `POST /api/session`, is
 * exchanged for an HttpOnly, SameSite=Strict cookie, so the console, bull-board at /queues and
 * invoice downloads share one sign-in and no script ever holds the token.
 *
 * Sessions live in the database, so every daemon of a cluster behind one address knows them and a
 * restart signs no one out. A session is stored under the SHA-256 of its cookie's value (a copy of
 * the database holds no usable cookie) with the SHA-256 of its token, never the token: each request
 * looks the token up again, so revoking it (or changing ADMIN_TOKEN) ends its sessions at once.
 *
 * CSRF: SameSite=Strict keeps the cookie off cross-site requests; on top of it every mutating
 * request authenticated by the cookie must carry the session's `x-csrf-token` (the console sends
 * it), or, for bull-board's own requests under /queues, an `Origin` that is this host.
 */
export const sessionCookie = 'lifecycle_session';
export const csrfHeader = 'x-csrf-token';

/**
 * The cookie's name for the address the request came to: `lifecycle_session_8788` on
 * `127.0.0.1:8788`. Cookies ignore ports, so two daemons on one host (docker-compose) would
 * otherwise overwrite each other's session; behind a proxy without a port it is `lifecycle_session`.
 */
export function findSessionCookieName(request: Pick<FastifyRequest, 'headers'>): string {
  const port = /:(\d{1,5})$/.exec(request.headers.host ?? '')?.[1];
  return port ? `${sessionCookie}_${port}` : sessionCookie;
}

export type Session = StoredSession;

declare module 'fastify' {
  interface FastifyRequest {
    /** Set when the request authenticated with the session cookie rather than a bearer token. */
    session?: Session;
  }
}

export interface SessionOptions {
  store: Store;
  /** The bootstrap token now: a session signed in with another ADMIN_TOKEN ends. */
  adminToken: string | null;
  /** How long a session lasts from sign-in. @defaultValue 8 hours */
  ttlMs?: number;
  /** Sessions kept at most; the oldest is dropped first. @defaultValue 10000 */
  maxSessions?: number;
  nowMs?: () => number;
}

export type SessionOutcome = { actor: ApiActor } | { reason: 'expired' | 'revoked' | 'csrf'; message: string; status: 401 | 403 };

function equalText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

const isSafeMethod = (method: string) => method === 'GET' || method === 'HEAD' || method === 'OPTIONS';

/** The host this request was sent to, as an origin's host part would say it. */
function isSameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (!origin) return false;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

export interface Sessions {
  readonly ttlMs: number;
  /** A new session for `actor`, signed in with `token`; `id` is the cookie's value, given once. */
  create(actor: ApiActor, token: string): Promise<{ id: string; session: Session }>;
  /** The cookie's session, checked (expiry, revocation, CSRF); null when the request has no cookie. */
  authenticate(request: FastifyRequest): Promise<SessionOutcome | null>;
  destroy(session: Session): Promise<void>;
  /** Sessions held now (tests, metrics). */
  count(): Promise<number>;
}

export function createSessions(options: SessionOptions): Sessions {
  const ttlMs = options.ttlMs ?? 8 * 3600_000;
  const maxSessions = options.maxSessions ?? 10_000;
  const nowMs = options.nowMs ?? Date.now;
  const { store } = options;
  const adminTokenHash = options.adminToken === null ? null : hashToken(options.adminToken);

  /** Why the session's token no longer signs anyone in, or null while it does. */
  async function findRevocation(session: Session): Promise<string | null> {
    if (session.actor.ref === 'ADMIN_TOKEN') {
      return session.tokenHash === adminTokenHash ? null : 'ADMIN_TOKEN has changed since this session signed in: sign in again';
    }
    const record = await findTokenByHash(store, session.tokenHash);
    return record && !record.revokedAt ? null : `the token "${session.actor.name}" of this session was revoked: sign in again`;
  }

  return {
    ttlMs,
    count: () => countSessions(store),
    async create(actor, token) {
      const now = nowMs();
      const id = randomBytes(32).toString('base64url');
      const session: Session = { idHash: hashToken(id), csrf: randomBytes(24).toString('base64url'), actor, tokenHash: hashToken(token), createdAtMs: now, expiresAtMs: now + ttlMs };
      await insertSession(store, session, now, maxSessions);
      return { id, session };
    },
    async authenticate(request) {
      const id = request.cookies?.[findSessionCookieName(request)];
      if (!id) return null;
      const session = await findSession(store, hashToken(id));
      if (!session || session.expiresAtMs <= nowMs()) {
        if (session) await deleteSession(store, session.idHash);
        return { reason: 'expired', status: 401, message: 'the session has expired or ended: sign in again with a token' };
      }
      const revocation = await findRevocation(session);
      if (revocation) {
        await deleteSession(store, session.idHash);
        return { reason: 'revoked', status: 401, message: revocation };
      }
      if (!isSafeMethod(request.method)) {
        const presented = request.headers[csrfHeader];
        const isBoard = request.url.startsWith('/queues/') && isSameOrigin(request);
        if (!isBoard && (typeof presented !== 'string' || !equalText(presented, session.csrf))) {
          return { reason: 'csrf', status: 403, message: `a ${request.method} with the session cookie needs the session's ${csrfHeader} header (GET /api/session gives it)` };
        }
      }
      request.session = session;
      return { actor: session.actor };
    },
    destroy: (session) => deleteSession(store, session.idHash),
  };
}

function readBearer(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match ? match[1]! : null;
}

function setCookie(request: FastifyRequest, reply: FastifyReply, value: string, maxAgeSeconds: number): void {
  reply.setCookie(findSessionCookieName(request), value, {
    path: '/',
    httpOnly: true,
    sameSite: 'strict',
    secure: request.protocol === 'https',
    maxAge: maxAgeSeconds,
  });
}

const sessionSchema = {
  type: 'object',
  required: ['name', 'role', 'ref'],
  properties: {
    name: { type: 'string' },
    role: { type: 'string', enum: ['viewer', 'operator'] },
    ref: { type: 'string' },
    csrf: { type: 'string', description: `send it as the ${csrfHeader} header with every POST, PUT or DELETE made with the cookie` },
    expiresAt: { type: 'string', format: 'date-time' },
  },
} as const;

/** What the console needs to know about its session (the CSRF token, when it ends). */
export function describeSession(request: FastifyRequest) {
  const session = request.session;
  return {
    ...request.actor!,
    ...(session ? { csrf: session.csrf, expiresAt: new Date(session.expiresAtMs).toISOString() } : {}),
  };
}

/**
 * `POST /api/session` (sign in: the bearer token, checked by the token hook like any request,
 * becomes a cookie) and `DELETE /api/session` (sign out). Registered inside the authenticated scope.
 */
export function registerSignInRoutes(app: FastifyInstance, sessions: Sessions): void {
  app.post(
    '/api/session',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Sign in: exchange the bearer token for an HttpOnly, SameSite=Strict session cookie (the console, /queues, downloads)',
        tags: ['session'],
        response: { 200: sessionSchema },
      },
    },
    async (request, reply) => {
      const presented = readBearer(request.headers.authorization);
      if (!presented) throw new InputError('sign in with "Authorization: Bearer <token>"; a session cannot make another');
      const actor = request.actor!;
      const { id, session } = await sessions.create(actor, presented);
      setCookie(request, reply, id, Math.floor(sessions.ttlMs / 1000));
      request.session = session;
      request.log.info({ expiresAt: new Date(session.expiresAtMs).toISOString() }, 'console sign-in');
      return describeSession(request);
    },
  );

  app.delete(
    '/api/session',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Sign out: ends the session of the cookie and clears it',
        tags: ['session'],
        response: { 200: { type: 'object', properties: { signedOut: { type: 'boolean' } } } },
      },
    },
    async (request, reply) => {
      if (request.session) await sessions.destroy(request.session);
      setCookie(request, reply, '', 0);
      return { signedOut: Boolean(request.session) };
    },
  );
}
