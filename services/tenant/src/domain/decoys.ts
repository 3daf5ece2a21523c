import { unscoped } from '@kb/store';
import type { TenantStores } from '../store/index.js';

/**
 * The id of the stand-in key, organization and workspace that key verification reads in place of an unknown
 * key's records, so an unknown key costs the same reads, each returning a document, as a valid one (timings
 * must not tell which keys exist). It matches no id format (`<prefix>_<ulid>`), which every boundary
 * enforces, so no request can name these records; the key is revoked and its hash is not a hash.
 */
export const DECOY_ID = 'decoy';

const REASON = 'the verification stand-ins, outside every tenant';
const UPSERT = { upsert: true } as const;

/** Creates the stand-ins if they are missing (every replica at start; concurrent starts are harmless). */
export async function ensureDecoys(stores: TenantStores): Promise<void> {
  const at = new Date(0);
  const id = { _id: DECOY_ID };
  await Promise.all([
    unscoped(
      REASON,
      stores.keys.model.updateOne(
        id,
        {
          $setOnInsert: {
            org_id: DECOY_ID,
            workspace_id: DECOY_ID,
            name: DECOY_ID,
            prefix: DECOY_ID,
            hash: DECOY_ID,
            scopes: ['search'],
            environment: 'live',
            expires_at: null,
            created_at: at,
            last_used_at: null,
            revoked_at: at,
          },
        },
        UPSERT,
      ),
    ).exec(),
    unscoped(
      REASON,
      stores.orgs.model.updateOne(
        id,
        {
          $setOnInsert: {
            name: DECOY_ID,
            plan: 'free',
            status: 'suspended',
            settings: {},
            created_at: at,
            updated_at: at,
          },
        },
        UPSERT,
      ),
    ).exec(),
    unscoped(
      REASON,
      stores.workspaces.model.updateOne(
        id,
        {
          $setOnInsert: {
            org_id: DECOY_ID,
            name: DECOY_ID,
            environment: 'production',
            status: 'deleting',
            settings: { chunk_size: 1_000, chunk_overlap: 150, limits: {} },
            created_at: at,
            updated_at: at,
            deleted_at: at,
          },
        },
        UPSERT,
      ),
    ).exec(),
  ]);
}
