import { createHash } from 'node:crypto';
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
  /** The same, given the key's SHA-256 (the gateway computes it once per request). */
  getByDigest(digest: Buffer): VerifiedKey | undefined;
  setByDigest(digest: Buffer, verified: VerifiedKey): void;
  dropKeys(keyIds: readonly string[]): void;
  dropOrg(orgId: string): void;
  size(): number;
}

export function createKeyCache(options: {
  ttlMs: number;
  maxEntries?: number;
  now?: () => number;
}): KeyCache {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, { verified: VerifiedKey; until: number }>();
  const digest = (key: string) => createHash('sha256').update(key).digest();

  const cache: KeyCache = {
    get: (key) => cache.getByDigest(digest(key)),
    set: (key, verified) => cache.setByDigest(digest(key), verified),
    getByDigest(hash) {
      const id = hash.toString('latin1');
      const entry = entries.get(id);
      if (!entry) return undefined;
      if (entry.until <= now()) {
        entries.delete(id);
        return undefined;
      }
      return entry.verified;
    },
    setByDigest(hash, verified) {
      const expiry = verified.expires_at ? Date.parse(verified.expires_at) : Number.POSITIVE_INFINITY;
      const until = Math.min(now() + options.ttlMs, expiry);
      if (until <= now()) return;
      if (entries.size >= maxEntries) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
      entries.set(hash.toString('latin1'), { verified, until });
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
