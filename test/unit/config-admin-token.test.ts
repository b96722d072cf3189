import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { buildEnv, readProblems } from './config-env.js';

describe('ADMIN_TOKEN', () => {
  it.each([
    ['23 characters', 'a'.repeat(22) + 'Z', ['ADMIN_TOKEN: 23 characters, at least 24 (e.g. openssl rand -base64 32)']],
    ['24 characters', 'b'.repeat(23) + 'Y', []],
    ['23 characters counted as code points, not UTF-16 units', '🔑'.repeat(23), ['ADMIN_TOKEN: 23 characters, at least 24 (e.g. openssl rand -base64 32)']],
    ['padded with spaces to 24 (trimmed first)', `  ${'c'.repeat(20)}X  `, ['ADMIN_TOKEN: 21 characters, at least 24 (e.g. openssl rand -base64 32)']],
  ])('%s', (_name, token, problems) => {
    const found = readProblems({ ADMIN_TOKEN: token });
    expect(found).toEqual(problems);
    expect(found.join('\n')).not.toContain(token.trim().slice(0, 8));
  });

  it('a short token beyond loopback is one problem, and the message never shows it', () => {
    const token = 'short-Secret-77';
    let message = '';
    try {
      loadConfig(buildEnv({ ADMIN_HOST: '0.0.0.0', ADMIN_TOKEN: token }));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('invalid configuration:\n  ADMIN_TOKEN: 15 characters, at least 24 (e.g. openssl rand -base64 32)');
  });

  it('beyond loopback without ADMIN_TOKEN is refused', () => {
    expect(readProblems({ ADMIN_HOST: '0.0.0.0' })).toEqual(['ADMIN_HOST=0.0.0.0: listening beyond loopback needs ADMIN_TOKEN']);
  });
});
