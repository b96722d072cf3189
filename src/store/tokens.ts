import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { InputError, NotFoundError } from '../errors.js';
import type { Executor } from './executor.js';

export const tokenRoles = ['viewer', 'operator'] as const;
export type TokenRole = (typeof tokenRoles)[number];

/** A named token as stored and listed: never the token itself. */
export interface TokenRecord {
  name: string;
  role: TokenRole;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

interface TokenRow {
  name: string;
  role: TokenRole;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** Letters, digits, `.`, `_`, `-`, starting with a letter or digit: safe in logs, audit refs and shells. */
const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const tokenPrefix = 'lct_';

/**
 * SHA-256, unsalted and fast, is enough here: a token is 32 random bytes, so no dictionary or
 * brute force reaches it; slow password hashes are for low-entropy secrets chosen by people.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function toRecord(row: TokenRow): TokenRecord {
  return { name: row.name, role: row.role, createdAt: row.created_at, lastUsedAt: row.last_used_at, revokedAt: row.revoked_at };
}

export function checkTokenName(name: string): void {
  if (!namePattern.test(name)) {
    throw new InputError(`token name "${name.slice(0, 80).replace(/[^\x20-\x7e]/g, '?')}": 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit`);
  }
}

export function checkTokenRole(role: string): TokenRole {
  if (!(tokenRoles as readonly string[]).includes(role)) throw new InputError(`--role ${role}: expected viewer or operator`);
  return role as TokenRole;
}

/** Makes a token and stores its hash; the token is returned once and never kept. */
export async function createToken(ex: Executor, name: string, role: TokenRole, now: Date): Promise<{ token: string; record: TokenRecord }> {
  checkTokenName(name);
  const token = `${tokenPrefix}${randomBytes(32).toString('base64url')}`;
  const createdAt = now.toISOString();
  const inserted = await ex.run(
    sql`INSERT INTO api_tokens (name, role, token_hash, created_at) VALUES (${name}, ${role}, ${hashToken(token)}, ${createdAt})
        ON CONFLICT (name) DO NOTHING`,
  );
  if (inserted === 0) throw new InputError(`token "${name}" already exists (names are never reused, even once revoked)`);
  return { token, record: { name, role, createdAt, lastUsedAt: null, revokedAt: null } };
}

export async function listTokens(ex: Executor): Promise<TokenRecord[]> {
  const rows = await ex.all<TokenRow>(sql`SELECT name, role, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY name`);
  return rows.map(toRecord);
}

/** Revokes at once: the admin API looks every request's token up, nothing is cached. */
export async function revokeToken(ex: Executor, name: string, now: Date): Promise<TokenRecord> {
  checkTokenName(name);
  // One statement: of two revokes at once (two CLIs, or PostgreSQL's concurrent sessions) one wins, the other is told.
  const revoked = await ex.get<TokenRow>(
    sql`UPDATE api_tokens SET revoked_at = ${now.toISOString()} WHERE name = ${name} AND revoked_at IS NULL
        RETURNING name, role, created_at, last_used_at, revoked_at`,
  );
  if (revoked) return toRecord(revoked);
  const row = await ex.get<TokenRow>(sql`SELECT name, role, created_at, last_used_at, revoked_at FROM api_tokens WHERE name = ${name}`);
  if (!row) throw new NotFoundError(`no token "${name}" (lifecycle tokens list shows them)`);
  throw new InputError(`token "${name}" was already revoked at ${row.revoked_at}`);
}

/** The token a presented secret is, revoked ones included (the caller says why it refuses them). */
export async function findTokenByHash(ex: Executor, tokenHash: string): Promise<TokenRecord | undefined> {
  const row = await ex.get<TokenRow>(sql`SELECT name, role, created_at, last_used_at, revoked_at FROM api_tokens WHERE token_hash = ${tokenHash}`);
  return row ? toRecord(row) : undefined;
}

/** Last use is kept to the minute: one write a minute per token, not one per request of a polling console. */
export async function recordTokenUse(ex: Executor, record: TokenRecord, now: Date): Promise<void> {
  if (record.lastUsedAt && now.getTime() - Date.parse(record.lastUsedAt) < 60_000) return;
  try {
    await ex.run(sql`UPDATE api_tokens SET last_used_at = ${now.toISOString()} WHERE name = ${record.name}`);
  } catch {
    // A busy database (a long import) must not refuse a valid token: the next use records it.
  }
}
