import type { CreatedKey } from '@kb/contracts';
import { generateApiKey, hashApiKey, type KeyEnvironment, newId } from '@kb/tenancy';
import type { Static } from '@sinclair/typebox';
import type { TenantStores } from '../store/index.js';

export interface NewKey {
  org: string;
  /** null for an organization-admin key. */
  ws: string | null;
  name: string;
  scopes: string[];
  environment: KeyEnvironment;
  expiresAt: Date | null;
}

/**
 * Issues a key: the secret is returned once and stored only as its keyed hash (plus the short display
 * prefix). The secret and hash are never logged.
 */
export async function issueKey(
  stores: TenantStores,
  hashSecret: string,
  input: NewKey,
): Promise<Static<typeof CreatedKey>> {
  const { key, prefix } = generateApiKey(input.environment);
  const doc = await stores.keys.in({ org_id: input.org, workspace_id: input.ws }).create({
    _id: newId('key'),
    name: input.name,
    prefix,
    hash: hashApiKey(key, hashSecret),
    scopes: input.scopes,
    environment: input.environment,
    expires_at: input.expiresAt,
    created_at: new Date(),
    last_used_at: null,
    revoked_at: null,
  });
  return {
    id: doc._id,
    key,
    name: doc.name,
    scopes: doc.scopes,
    expires_at: doc.expires_at ? doc.expires_at.toISOString() : null,
    created_at: doc.created_at.toISOString(),
  };
}

/** Filter of keys that still work: not revoked and not expired. */
export const liveKeys = (now: Date) => ({
  revoked_at: null,
  $or: [{ expires_at: null }, { expires_at: { $gt: now } }],
});
