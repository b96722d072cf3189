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
  it('stores only the SHA-256 of a fresh 32-byte token, and finds it by that hash', async () => {
    const { token, record } = await createToken(store, 'ops.viewer-1', 'viewer', t0);
    expect(token).toMatch(/^lct_[A-Za-z0-9_-]{43}$/);
    expect(record).toEqual({ name: 'ops.viewer-1', role: 'viewer', createdAt: t0.toISOString(), lastUsedAt: null, revokedAt: null });
    const row = store.sqlite.prepare('SELECT * FROM api_tokens').get() as Record<string, unknown>;
    expect(row.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(Object.values(row)).not.toContain(token);
    expect(await findTokenByHash(store, hashToken(token))).toEqual(record);
    expect(await findTokenByHash(store, hashToken(`${token}x`))).toBeUndefined();
    expect((await createToken(store, 'other', 'operator', t0)).token).not.toBe(token);
  });

  it.each([
    ['', 'empty'],
    ['a b', 'a space'],
    ['-lead', 'a leading dash'],
    ['a'.repeat(65), '65 characters'],
    ['naïve', 'a non-ASCII letter'],
    ['a\nb', 'a line break'],
  ])('refuses the name %j (%s) and stores nothing', async (name) => {
    await expect(createToken(store, name, 'viewer', t0)).rejects.toThrow(/^token name ".*": 1 to 64 letters, digits/);
    expect(await listTokens(store)).toEqual([]);
  });

  it('accepts a 64-character name; refuses a duplicate, revoked or not, and an unknown role', async () => {
    await createToken(store, 'a'.repeat(64), 'viewer', t0);
    await createToken(store, 'ci', 'operator', t0);
    await expect(createToken(store, 'ci', 'viewer', t0)).rejects.toThrow(new InputError('token "ci" already exists (names are never reused, even once revoked)'));
    await revokeToken(store, 'ci', at(1));
    await expect(createToken(store, 'ci', 'operator', at(2))).rejects.toThrow(/already exists/);
    expect(() => checkTokenRole('admin')).toThrow('--role admin: expected viewer or operator');
    expect((await listTokens(store)).map((t) => t.name)).toEqual(['a'.repeat(64), 'ci']);
  });

  it('revokes once, says when; an unknown name is not found', async () => {
    const { token } = await createToken(store, 'ci', 'operator', t0);
    expect((await revokeToken(store, 'ci', at(5))).revokedAt).toBe(at(5).toISOString());
    expect((await findTokenByHash(store, hashToken(token)))?.revokedAt).toBe(at(5).toISOString());
    await expect(revokeToken(store, 'ci', at(6))).rejects.toThrow(`token "ci" was already revoked at ${at(5).toISOString()}`);
    await expect(revokeToken(store, 'nobody', at(6))).rejects.toThrow(NotFoundError);
  });

  it('of two revokes at once, one revokes and the other is told when', async () => {
    await createToken(store, 'ci', 'operator', t0);
    const results = await Promise.allSettled([revokeToken(store, 'ci', at(5)), revokeToken(store, 'ci', at(6))]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const revoked = results.find((r) => r.status === 'fulfilled')!.value;
    const refused = results.find((r) => r.status === 'rejected')!.reason as Error;
    expect(refused.message).toBe(`token "ci" was already revoked at ${revoked.revokedAt}`);
    expect((await listTokens(store))[0]!.revokedAt).toBe(revoked.revokedAt);
  });

  it('records the last use at most once a minute', async () => {
    const { token } = await createToken(store, 'ci', 'viewer', t0);
    const read = async () => (await findTokenByHash(store, hashToken(token)))!;
    await recordTokenUse(store, await read(), at(0));
    await recordTokenUse(store, await read(), at(59));
    expect((await read()).lastUsedAt).toBe(at(0).toISOString());
    await recordTokenUse(store, await read(), at(60));
    expect((await read()).lastUsedAt).toBe(at(60).toISOString());
  });
});
