import { sql } from 'drizzle-orm';
import type { Executor, Store } from './executor.js';
import type { TokenRole } from './tokens.js';

/** A console session (src/ops/session.ts) as stored: the cookie's value only as its SHA-256. */
export interface StoredSession {
  /** `hashToken` of the cookie's value: the session's key. */
  idHash: string;
  csrf: string;
  actor: { name: string; role: TokenRole; ref: string };
  /** `hashToken` of the token signed in with, ADMIN_TOKEN's included. */
  tokenHash: string;
  createdAtMs: number;
  expiresAtMs: number;
}

interface SessionRow {
  id_hash: string;
  csrf: string;
  actor_name: string;
  actor_role: TokenRole;
  actor_ref: string;
  token_hash: string;
  created_at: string;
  expires_at: string;
}

const toIso = (ms: number) => new Date(ms).toISOString();

/**
 * Stores a new session, first ending those expired by `nowMs`, then the oldest beyond
 * `maxSessions - 1`, so the table never holds more than `maxSessions`.
 */
export async function insertSession(store: Store, session: StoredSession, nowMs: number, maxSessions: number): Promise<void> {
  await store.transaction(async (tx) => {
    await tx.run(sql`DELETE FROM console_sessions WHERE expires_at <= ${toIso(nowMs)}`);
    const kept = await countSessions(tx);
    if (kept >= maxSessions) {
      await tx.run(sql`
        DELETE FROM console_sessions WHERE id_hash IN (
          SELECT id_hash FROM console_sessions ORDER BY created_at, id_hash LIMIT ${kept - maxSessions + 1})`);
    }
    await tx.run(sql`
      INSERT INTO console_sessions (id_hash, csrf, actor_name, actor_role, actor_ref, token_hash, created_at, expires_at)
      VALUES (${session.idHash}, ${session.csrf}, ${session.actor.name}, ${session.actor.role}, ${session.actor.ref}, ${session.tokenHash},
        ${toIso(session.createdAtMs)}, ${toIso(session.expiresAtMs)})`);
  });
}

export async function findSession(ex: Executor, idHash: string): Promise<StoredSession | null> {
  const row = await ex.get<SessionRow>(sql`SELECT * FROM console_sessions WHERE id_hash = ${idHash}`);
  if (!row) return null;
  return {
    idHash: row.id_hash,
    csrf: row.csrf,
    actor: { name: row.actor_name, role: row.actor_role, ref: row.actor_ref },
    tokenHash: row.token_hash,
    createdAtMs: Date.parse(row.created_at),
    expiresAtMs: Date.parse(row.expires_at),
  };
}

export async function deleteSession(ex: Executor, idHash: string): Promise<void> {
  await ex.run(sql`DELETE FROM console_sessions WHERE id_hash = ${idHash}`);
}

export async function countSessions(ex: Executor): Promise<number> {
  return Number((await ex.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM console_sessions`))!.n);
}
