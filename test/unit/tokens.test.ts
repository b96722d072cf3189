import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InputError, NotFoundError } from '../../src/errors.js';
import { openStore, type Store } from '../../src/store/db.js';
import { checkTokenRole, createToken, findTokenByHash, hashToken, listTokens, recordTokenUse, revokeToken } from '../../src/store/tokens.js';

const t0 = new Date('2026-01-05T10:00:00.000Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

let store: Store;
beforeEach(() => {
  store = openStore(':memory:');
});
afterEach(() => store.close());

describe('named tokens in the store', () => {
  it('stores only the SHA-256 of a fresh 32-byte token, and finds it by that hash', () => {
    const { token, record } = createToken(store, 'ops.viewer-1', 'viewer', t0);
    expect(token).toMatch(/^lct_[A-Za-z0-9_-]{43}$/);
    expect(record).toEqual({ name: 'ops.viewer-1', role: 'viewer', createdAt: t0.toISOString(), lastUsedAt: null, revokedAt: null });
    const row = store.sqlite.prepare('SELECT * FROM api_tokens').get() as Record<string, unknown>;
    expect(row.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(Object.values(row)).not.toContain(token);
    expect(findTokenByHash(store, hashToken(token))).toEqual(record);
    expect(findTokenByHash(store, hashToken(`${token}x`))).toBeUndefined();
    expect(createToken(store, 'other', 'operator', t0).token).not.toBe(token);
  });

  it.each([
    ['', 'empty'],
    ['a b', 'a space'],
    ['-lead', 'a leading dash'],
    ['a'.repeat(65), '65 characters'],
    ['naïve', 'a non-ASCII letter'],
    ['a\nb', 'a line break'],
  ])('refuses the name %j (%s) and stores nothing', (name) => {
    expect(() => createToken(store, name, 'viewer', t0)).toThrow(/^token name ".*": 1 to 64 letters, digits/);
    expect(listTokens(store)).toEqual([]);
  });

  it('accepts a 64-character name; refuses a duplicate, revoked or not, and an unknown role', () => {
    createToken(store, 'a'.repeat(64), 'viewer', t0);
    createToken(store, 'ci', 'operator', t0);
    expect(() => createToken(store, 'ci', 'viewer', t0)).toThrow(new InputError('token "ci" already exists (names are never reused, even once revoked)'));
    revokeToken(store, 'ci', at(1));
    expect(() => createToken(store, 'ci', 'operator', at(2))).toThrow(/already exists/);
    expect(() => checkTokenRole('admin')).toThrow('--role admin: expected viewer or operator');
    expect(listTokens(store).map((t) => t.name)).toEqual(['a'.repeat(64), 'ci']);
  });

  it('revokes once, says when; an unknown name is not found', () => {
    const { token } = createToken(store, 'ci', 'operator', t0);
    expect(revokeToken(store, 'ci', at(5)).revokedAt).toBe(at(5).toISOString());
    expect(findTokenByHash(store, hashToken(token))?.revokedAt).toBe(at(5).toISOString());
    expect(() => revokeToken(store, 'ci', at(6))).toThrow(`token "ci" was already revoked at ${at(5).toISOString()}`);
    expect(() => revokeToken(store, 'nobody', at(6))).toThrow(NotFoundError);
  });

  it('records the last use at most once a minute', () => {
    const { token } = createToken(store, 'ci', 'viewer', t0);
    const read = () => findTokenByHash(store, hashToken(token))!;
    recordTokenUse(store, read(), at(0));
    recordTokenUse(store, read(), at(59));
    expect(read().lastUsedAt).toBe(at(0).toISOString());
    recordTokenUse(store, read(), at(60));
    expect(read().lastUsedAt).toBe(at(60).toISOString());
  });
});
