import { type IngestionStores, scopeOf } from '../store/documents.js';

type Tenant = { org: string; ws: string };

export interface DeletedWorkspaces {
  /** Whether the workspace's deletion was processed: nothing may be written for it any more. */
  isDeleted(tenant: Tenant): Promise<boolean>;
  /** Records that this process just wrote the workspace's tombstone. */
  remember(tenant: Tenant): void;
}

/**
 * The workspace tombstones as every upload and every job asks for them. A tombstone is permanent, so a yes
 * is remembered for good; a no only for `ttlMs`. A deletion is then noticed up to `ttlMs` late, well within
 * the purge's second pass a minute after the first, which removes whatever was written meanwhile (the
 * workspace settings an upload reads, which also refuse a deleted workspace, are cached for 10 s too).
 */
export function createDeletedWorkspaces(stores: IngestionStores, ttlMs = 5_000): DeletedWorkspaces {
  const deleted = new Set<string>();
  const aliveAt = new Map<string, number>();
  const bounded = (collection: { size: number; clear(): void }) => {
    if (collection.size > 10_000) collection.clear();
  };
  return {
    async isDeleted(tenant) {
      if (deleted.has(tenant.ws)) return true;
      const checked = aliveAt.get(tenant.ws);
      if (checked !== undefined && Date.now() - checked < ttlMs) return false;
      const tombstone = await stores.tombstones.in(scopeOf(tenant)).findOne({ _id: tenant.ws });
      if (tombstone) {
        bounded(deleted);
        deleted.add(tenant.ws);
        aliveAt.delete(tenant.ws);
        return true;
      }
      bounded(aliveAt);
      aliveAt.set(tenant.ws, Date.now());
      return false;
    },
    remember(tenant) {
      bounded(deleted);
      deleted.add(tenant.ws);
      aliveAt.delete(tenant.ws);
    },
  };
}
