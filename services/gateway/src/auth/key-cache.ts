import { hash } from 'node:crypto';
import type { VerifiedKey } from '@kb/contracts';

/**
 * Verified API keys, held for a few seconds so a burst of requests costs one verification. Entries are
 * indexed by a SHA-256 of the key (the key itself is never kept) and dropped at once when the tenant service
 * broadcasts a revocation, a suspension or a workspace deletion; the TTL only bounds what a missed broadcast
 * could leave behind. An entry never outlives the key's own expiry.
 */
export interface KeyCache {
  get(key: string): VerifiedKey | undefined;
  set(key: string, verified: VerifiedKey): void;
  /** The same, given the key's `keyDigest` (the gateway computes it once per request). */
  getByDigest(digest: string): VerifiedKey | undefined;
  setByDigest(digest: string, verified: VerifiedKey): void;
  dropKeys(keyIds: readonly string[]): void;
  dropOrg(orgId: string): void;
  size(): number;
}

/** The SHA-256 of a key, base64: how the cache (and the master-key check) knows a key without keeping it. */
export const keyDigest = (key: string): string => hash('sha256', key, 'base64');

export function createKeyCache(options: {
  ttlMs: number;
  maxEntries?: number;
  now?: () => number;
}): KeyCache {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, { verified: VerifiedKey; until: number }>();
  const cache: KeyCache = {
    get: (key) => cache.getByDigest(keyDigest(key)),
    set: (key, verified) => cache.setByDigest(keyDigest(key), verified),
    getByDigest(id) {
      const entry = entries.get(id);
      if (!entry) return undefined;
      if (entry.until <= now()) {
        entries.delete(id);
        return undefined;
      }
      return entry.verified;
    },
    setByDigest(id, verified) {
      const expiry = verified.expires_at ? Date.parse(verified.expires_at) : Number.POSITIVE_INFINITY;
      const until = Math.min(now() + options.ttlMs, expiry);
      if (until <= now()) return;
      if (entries.size >= maxEntries) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
      entries.set(id, { verified, until });
    },
    dropKeys(keyIds) {
      const ids = new Set(keyIds);
      for (const [id, entry] of entries) if (ids.has(entry.verified.key_id)) entries.delete(id);
    },
    dropOrg(orgId) {
      for (const [id, entry] of entries) if (entry.verified.org_id === orgId) entries.delete(id);
    },
    size: () => entries.size,
  };
  return cache;
}
