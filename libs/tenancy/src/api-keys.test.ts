import { describe, expect, it } from 'vitest';
import { apiKeyEnvironment, generateApiKey, hashApiKey, isWellFormedApiKey } from './api-keys.js';

describe('API keys', () => {
  it('generates well-formed, distinct keys for each environment', () => {
    const live = generateApiKey('live');
    const test = generateApiKey('test');
    expect(live.key).toMatch(/^kb_live_[0-9A-Za-z]{38}$/);
    expect(test.key).toMatch(/^kb_test_[0-9A-Za-z]{38}$/);
    expect(live.prefix).toBe(live.key.slice(0, 12));
    expect(isWellFormedApiKey(live.key)).toBe(true);
    expect(apiKeyEnvironment(test.key)).toBe('test');
    const many = new Set(Array.from({ length: 1000 }, () => generateApiKey('live').key));
    expect(many.size).toBe(1000);
  });

  it('refuses a key with any single character changed (checksum)', () => {
    const { key } = generateApiKey('live');
    let refused = 0;
    for (let i = 8; i < key.length; i += 1) {
      const swapped = key[i] === 'a' ? 'b' : 'a';
      if (!isWellFormedApiKey(key.slice(0, i) + swapped + key.slice(i + 1))) refused += 1;
    }
    expect(refused).toBe(key.length - 8);
  });

  it.each([
    '',
    'kb_live_',
    'kb_prod_abcdefghijklmnopqrstuvwxyzABCDEF123456',
    'Bearer x',
    `kb_live_${'a'.repeat(38)} `,
    'kb_live_ä',
  ])('refuses the malformed key %j', (value) => {
    expect(isWellFormedApiKey(value)).toBe(false);
  });

  it('hashes under a secret, so the same key hashes differently under another secret', () => {
    const { key } = generateApiKey('live');
    expect(hashApiKey(key, 'a'.repeat(32))).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(key, 'a'.repeat(32))).not.toBe(hashApiKey(key, 'b'.repeat(32)));
    expect(hashApiKey(key, 'a'.repeat(32))).not.toContain(key.slice(8, 20));
  });
});
