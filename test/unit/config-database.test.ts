import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, storeTarget } from '../../src/config.js';
import { forgetSecrets, redact } from '../../src/redact.js';
import { buildEnv, readProblems } from './config-env.js';

afterEach(() => forgetSecrets());

describe('DATABASE_URL', () => {
  it('unset: the SQLite file in the data dir', () => {
    const config = loadConfig(buildEnv());
    expect(config.database).toEqual({ kind: 'sqlite', file: '/tmp/lifecycle-config/lifecycle.db' });
    expect(storeTarget(config)).toEqual({ file: '/tmp/lifecycle-config/lifecycle.db' });
  });

  it.each(['postgres://app:pw-0123456789@db.internal:5432/lifecycle', 'postgresql://db.internal/lifecycle?sslmode=require'])('%s: PostgreSQL', (url) => {
    const config = loadConfig(buildEnv({ DATABASE_URL: url }));
    expect(config.database).toEqual({ kind: 'postgres', url });
    expect(storeTarget(config)).toEqual({ url });
  });

  it('another scheme: one problem line, the password not in it', () => {
    const problems = readProblems({ DATABASE_URL: 'mysql://app:Hunter2-secret@db.internal/lifecycle' });
    expect(problems).toEqual(['DATABASE_URL=mysql://***@db.internal/lifecycle: expected a URL starting with postgres:// or postgresql://']);
  });

  it('not a URL at all: one problem line', () => {
    expect(readProblems({ DATABASE_URL: 'lifecycle.db' })).toEqual(['DATABASE_URL=lifecycle.db: expected a URL starting with postgres:// or postgresql://']);
  });

  it('its user name is not a secret: `postgres` stays readable in what is shown', () => {
    loadConfig(buildEnv({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/lifecycle' }));
    expect(redact('postgres://127.0.0.1:5432/lifecycle: role "postgres" does not exist')).toBe('postgres://127.0.0.1:5432/lifecycle: role "postgres" does not exist');
  });

  it('its password is hidden wherever it shows later (a driver error quoting it)', () => {
    loadConfig(buildEnv({ DATABASE_URL: 'postgres://app:S3cret%2Fpass-word@db.internal/lifecycle' }));
    expect(redact('password authentication failed: S3cret/pass-word and S3cret%2Fpass-word')).toBe('password authentication failed: *** and ***');
  });
});
