import { createHash, randomBytes } from 'node:crypto';
import { InputError, NotFoundError } from '../errors.js';
import type { Store } from './db.js';

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
export function createToken(store: Store, name: string, role: TokenRole, now: Date): { token: string; record: TokenRecord } {
  checkTokenName(name);
  const token = `${tokenPrefix}${randomBytes(32).toString('base64url')}`;
  const createdAt = now.toISOString();
  const inserted = store.sqlite
    .prepare('INSERT INTO api_tokens (name, role, token_hash, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING')
    .run(name, role, hashToken(token), createdAt);
  if (inserted.changes === 0) throw new InputError(`token "${name}" already exists (names are never reused, even once revoked)`);
  return { token, record: { name, role, createdAt, lastUsedAt: null, revokedAt: null } };
}

export function listTokens(store: Store): TokenRecord[] {
  const rows = store.sqlite.prepare('SELECT name, role, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY name').all() as TokenRow[];
  return rows.map(toRecord);
}

/** Revokes at once: the admin API looks every request's token up, nothing is cached. */
export function revokeToken(store: Store, name: string, now: Date): TokenRecord {
  checkTokenName(name);
  const row = store.sqlite.prepare('SELECT name, role, created_at, last_used_at, revoked_at FROM api_tokens WHERE name = ?').get(name) as TokenRow | undefined;
  if (!row) throw new NotFoundError(`no token "${name}" (lifecycle tokens list shows them)`);
  if (row.revoked_at) throw new InputError(`token "${name}" was already revoked at ${row.revoked_at}`);
  const revokedAt = now.toISOString();
  store.sqlite.prepare('UPDATE api_tokens SET revoked_at = ? WHERE name = ?').run(revokedAt, name);
  return toRecord({ ...row, revoked_at: revokedAt });
}

/** The token a presented secret is, revoked ones included (the caller says why it refuses them). */
export function findTokenByHash(store: Store, tokenHash: string): TokenRecord | undefined {
  const row = store.sqlite
    .prepare('SELECT name, role, created_at, last_used_at, revoked_at FROM api_tokens WHERE token_hash = ?')
    .get(tokenHash) as TokenRow | undefined;
  return row ? toRecord(row) : undefined;
}

/** Last use is kept to the minute: one write a minute per token, not one per request of a polling console. */
export function recordTokenUse(store: Store, record: TokenRecord, now: Date): void {
  if (record.lastUsedAt && now.getTime() - Date.parse(record.lastUsedAt) < 60_000) return;
  try {
    store.sqlite.prepare('UPDATE api_tokens SET last_used_at = ? WHERE name = ?').run(now.toISOString(), record.name);
  } catch {
    // A busy database (a long import) must not refuse a valid token: the next use records it.
  }
}
