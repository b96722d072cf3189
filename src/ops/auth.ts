import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../log.js';
import type { Executor } from '../store/executor.js';
import { findTokenByHash, hashToken, recordTokenUse, type TokenRole } from '../store/tokens.js';
import type { FailureLimiter } from './failure-limiter.js';
import type { Sessions } from './session.js';

/** Who a request authenticated as; `ref` names it in logs and the audit trail. */
export interface ApiActor {
  name: string;
  role: TokenRole;
  /** `ADMIN_TOKEN` for the bootstrap token, `token:NAME` for a named one. */
  ref: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    actor?: ApiActor;
  }
  interface FastifyContextConfig {
    /** The role a route needs; unset: `viewer` for GET and HEAD, `operator` for anything else. */
    role?: TokenRole;
  }
}

const adminActor: ApiActor = { name: 'ADMIN_TOKEN', role: 'operator', ref: 'ADMIN_TOKEN' };

function hashBytes(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function readBearer(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match ? match[1]! : null;
}

/** Safe methods read; every other one acts, so a new mutating route needs an operator unless it says otherwise. */
export function findRequiredRole(request: FastifyRequest): TokenRole {
  return request.routeOptions.config.role ?? (request.method === 'GET' || request.method === 'HEAD' ? 'viewer' : 'operator');
}

export interface TokenCheckOptions {
  adminToken: string | null;
  store: Executor;
  log: Logger;
  /** Failed authentications per address, shared by the daemons on one Redis. */
  limiter: FailureLimiter;
  /** The limiter's and last use's clock: real time, not the runtime's (possibly simulated) day. */
  nowMs?: () => number;
  /** Console sessions: a request without a bearer token may present the session cookie. */
  sessions?: Sessions;
}

type Outcome = { actor: ApiActor } | { reason: 'missing' | 'wrong' | 'revoked'; message: string; tokenName?: string };

/**
 * The ADMIN_TOKEN is compared in constant time (both sides hashed first). A named token is found by
 * the SHA-256 of what was presented: timing may tell a prefix of a hash, which leads nowhere.
 */
async function authenticate(options: TokenCheckOptions, adminHash: Buffer | null, presented: string | null, now: Date): Promise<Outcome> {
  const hint = options.adminToken
    ? 'send "Authorization: Bearer <token>" (ADMIN_TOKEN or one made by `lifecycle tokens create`)'
    : 'ADMIN_TOKEN is unset: set ADMIN_TOKEN or make a token with `lifecycle tokens create NAME --role operator`, and send "Authorization: Bearer <token>"';
  if (presented === null) return { reason: 'missing', message: `missing bearer token: ${hint}` };
  if (adminHash && timingSafeEqual(hashBytes(presented), adminHash)) return { actor: adminActor };
  const record = await findTokenByHash(options.store, hashToken(presented));
  if (record?.revokedAt) return { reason: 'revoked', tokenName: record.name, message: `this bearer token ("${record.name}") was revoked at ${record.revokedAt}` };
  if (!record) return { reason: 'wrong', message: `wrong bearer token: ${hint}` };
  await recordTokenUse(options.store, record, now);
  return { actor: { name: record.name, role: record.role, ref: `token:${record.name}` } };
}

/**
 * An onRequest hook: a bearer token (ADMIN_TOKEN or a named one) or 401; the role the route needs
 * or 403; too many failures from one address or 429. Failures are logged without the token text.
 */
export function createTokenCheck(options: TokenCheckOptions) {
  const adminHash = options.adminToken ? hashBytes(options.adminToken) : null;
  const { limiter } = options;
  const nowMs = options.nowMs ?? Date.now;
  let isLimiterDown = false;
  /**
   * The limiter's answer, or `fallback` while its Redis does not answer: authentication goes on
   * unlimited (operators keep their API while Redis is down, and the jobs stop anyway), said
   * once in the log until Redis answers again.
   */
  const askLimiter = async <T>(ask: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      const answer = await ask();
      isLimiterDown = false;
      return answer;
    } catch (error) {
      if (!isLimiterDown) options.log.warn({ err: error }, 'admin API: failed authentications are not limited while Redis does not answer');
      isLimiterDown = true;
      return fallback;
    }
  };
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const client = request.ip;
    // The route's pattern, not the URL: a query string could carry anything, a token included.
    const where = { client, method: request.method, route: request.routeOptions.url };
    const now = nowMs();
    const retryAfterMs = await askLimiter(() => limiter.findRetryAfterMs(client, now), 0);
    if (retryAfterMs > 0) {
      const seconds = Math.ceil(retryAfterMs / 1000);
      await reply.code(429).header('retry-after', String(seconds)).send({ error: `too many failed authentications from ${client}: try again in ${seconds} s` });
      return;
    }
    const bearer = readBearer(request.headers.authorization);
    const fromCookie = bearer === null && options.sessions ? await options.sessions.authenticate(request) : null;
    if (fromCookie && 'reason' in fromCookie) {
      // An expired session or a missing CSRF header is no guess at a token: not counted by the limiter.
      options.log.warn({ ...where, reason: `session ${fromCookie.reason}` }, 'admin API authentication failed');
      await reply.code(fromCookie.status).send({ error: fromCookie.message });
      return;
    }
    const outcome = fromCookie ?? (await authenticate(options, adminHash, bearer, new Date(now)));
    if ('reason' in outcome) {
      // A revoked token's name says who still uses it; the name is no secret (`tokenName`: `token` keys are redacted).
      options.log.warn({ ...where, reason: outcome.reason, ...(outcome.tokenName ? { tokenName: outcome.tokenName } : {}) }, 'admin API authentication failed');
      if (await askLimiter(() => limiter.recordFailure(client, now), false)) {
        options.log.warn(where, 'admin API: too many failed authentications, this address is refused (429) for a while');
      }
      await reply.code(401).header('www-authenticate', 'Bearer').send({ error: outcome.message });
      return;
    }
    const { actor } = outcome;
    request.actor = actor;
    request.log = request.log.child({ actor: actor.ref });
    const needs = findRequiredRole(request);
    if (actor.role === 'viewer' && needs === 'operator') {
      request.log.warn(where, 'admin API request refused: the token has the viewer role');
      await reply.code(403).send({ error: `token "${actor.name}" has the viewer role; ${request.method} ${where.route} needs operator` });
    }
  };
}
