import { afterEach, describe, expect, it } from 'vitest';
import { forgetSecrets, redact, redactUrl, redactValue, rememberSecrets, secretsOfUrl } from '../../src/redact.js';

afterEach(() => forgetSecrets());

describe('redact (SPEC §9)', () => {
  it.each([
    ['connect to redis://:pw-123456@10.0.0.5:6379 failed', 'connect to redis://***@10.0.0.5:6379 failed'],
    ['POST https://shop:p%40ss@pay.example.com/charge', 'POST https://***@pay.example.com/charge'],
    ['smtps://token-only@smtp.example.com:465', 'smtps://***@smtp.example.com:465'],
    ['two: http://a:b@x and http://c:d@y', 'two: http://***@x and http://***@y'],
    ['no user-info: https://pay.example.com/a@b', 'no user-info: https://pay.example.com/a@b'],
    ['an address: mailer@example.com', 'an address: mailer@example.com'],
  ])('hides URL user-info: %s', (text, expected) => {
    expect(redact(text)).toBe(expected);
  });

  it('replaces remembered secrets wherever they appear, URL-encoded too, the longest first', () => {
    rememberSecrets(['token-ABCDEF', 'token-ABCDEF-longer', 'p@ss/word!', 'short', null, undefined]);
    expect(redact('Bearer token-ABCDEF-longer, then token-ABCDEF')).toBe('Bearer ***, then ***');
    expect(redact(`url-encoded ${encodeURIComponent('p@ss/word!')}`)).toBe('url-encoded ***');
    expect(redact('a short word stays')).toBe('a short word stays');
  });

  it('reads the secrets a URL carries', () => {
    expect(secretsOfUrl('redis://:pa%24s-1@h:1')).toEqual(['pa%24s-1', 'pa$s-1']);
    expect(secretsOfUrl('https://tok-123@h/')).toEqual(['tok-123', 'tok-123']);
    expect(secretsOfUrl('https://user:pw-123@h/')).toEqual(['pw-123', 'pw-123']);
    expect(secretsOfUrl('not a url')).toEqual([]);
    expect(secretsOfUrl('postgres://postgres@h/db', { isUserSecret: false })).toEqual([]);
    expect(secretsOfUrl('postgres://app:pw-123@h/db', { isUserSecret: false })).toEqual(['pw-123', 'pw-123']);
  });

  it.each([
    ['http://:pw-secret@h:6379', 'http://***@h:6379/'],
    ['redis://:pw-secret@', '***@'],
    ['user:pw-secret@smtp.example.com', '***@smtp.example.com'],
    ['https://pay.example.com/charge', 'https://pay.example.com/charge'],
    ['garbage without at', 'garbage without at'],
  ])('redactUrl(%s)', (value, expected) => {
    expect(redactUrl(value)).toBe(expected);
  });

  it('redacts every string of a JSON-like value, leaving the rest', () => {
    rememberSecrets(['whsec-123456']);
    expect(redactValue({ a: ['x http://u:p@h y', 3, null], b: { c: 'signed whsec-123456' }, d: true })).toEqual({
      a: ['x http://***@h y', 3, null],
      b: { c: 'signed ***' },
      d: true,
    });
  });
});
