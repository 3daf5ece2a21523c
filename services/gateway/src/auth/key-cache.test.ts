import type { VerifiedKey } from '@kb/contracts';
import { describe, expect, it } from 'vitest';
import { createKeyCache } from './key-cache.js';

const verified = (overrides: Partial<VerifiedKey> = {}): VerifiedKey => ({
  key_id: 'key_01aaaaaaaaaaaaaaaaaaaaaaaa',
  org_id: 'org_01aaaaaaaaaaaaaaaaaaaaaaaa',
  workspace_id: null,
  scopes: ['org:admin'],
  plan: 'free',
  expires_at: null,
  ...overrides,
});

describe('key cache', () => {
  it('serves an entry until its TTL and never past the key’s own expiry', () => {
    let now = 1_000_000;
    const cache = createKeyCache({ ttlMs: 5_000, now: () => now });
    cache.set('kb_live_a', verified());
    cache.set(
      'kb_live_b',
      verified({ key_id: 'key_01bbbbbbbbbbbbbbbbbbbbbbbb', expires_at: new Date(now + 1_000).toISOString() }),
    );
    expect(cache.get('kb_live_a')).toBeDefined();
    now += 1_500;
    expect(cache.get('kb_live_b')).toBeUndefined();
    expect(cache.get('kb_live_a')).toBeDefined();
    now += 4_000;
    expect(cache.get('kb_live_a')).toBeUndefined();
  });

  it('drops entries by key id and by organization at once', () => {
    const cache = createKeyCache({ ttlMs: 60_000 });
    cache.set('a', verified());
    cache.set('b', verified({ key_id: 'key_01bbbbbbbbbbbbbbbbbbbbbbbb' }));
    cache.set(
      'c',
      verified({ key_id: 'key_01cccccccccccccccccccccccc', org_id: 'org_01cccccccccccccccccccccccc' }),
    );
    cache.dropKeys(['key_01bbbbbbbbbbbbbbbbbbbbbbbb']);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    cache.dropOrg('org_01aaaaaaaaaaaaaaaaaaaaaaaa');
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('c')).toBeDefined();
  });

  it('stays within its size bound', () => {
    const cache = createKeyCache({ ttlMs: 60_000, maxEntries: 3 });
    for (const key of ['a', 'b', 'c', 'd']) cache.set(key, verified());
    expect(cache.size()).toBe(3);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('d')).toBeDefined();
  });
});
