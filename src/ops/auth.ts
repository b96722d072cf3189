import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function readBearer(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match ? match[1]! : null;
}

/**
 * An onRequest hook: `Authorization: Bearer $ADMIN_TOKEN` or 401. Both sides are hashed first so
 * the comparison is constant-time whatever the length of what was presented.
 */
export function createTokenCheck(token: string | null) {
  const expected = token ? hashToken(token) : null;
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!expected) {
      await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'the admin API is locked: set ADMIN_TOKEN and send it as "Authorization: Bearer <token>"' });
      return;
    }
    const presented = readBearer(request.headers.authorization);
    if (presented === null || !timingSafeEqual(hashToken(presented), expected)) {
      await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'missing or wrong bearer token: send "Authorization: Bearer <ADMIN_TOKEN>"' });
    }
  };
}
