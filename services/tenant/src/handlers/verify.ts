import { forbidden, unauthorized } from '@kb/errors';
import { hashApiKey, isWellFormedApiKey } from '@kb/tenancy';
import type { HandlerDeps, TenantHandlers } from './deps.js';

type VerifyHandlers = TenantHandlers<'tenant.keys.verify'>;

/** Ids that no organization or workspace can have (a ULID of time zero), read in place of a missing key's. */
const NO_ORG = `org_${'0'.repeat(26)}`;
const NO_WORKSPACE = `ws_${'0'.repeat(26)}`;

/**
 * Key verification for the gateway (`kb.sys.tenant.keys.verify`, system context). A well-formed key costs
 * the same reads whether it exists or not: one indexed lookup by hash, then the organization and workspace
 * reads (of ids that cannot exist when there is no key), so timings do not tell which keys exist.
 */
export function verifyHandlers({ stores, lastUsed, keyHashSecret }: HandlerDeps): VerifyHandlers {
  return {
    async 'tenant.keys.verify'(request) {
      if (!isWellFormedApiKey(request.key)) throw unauthorized('invalid API key');
      const key = await stores.keys
        .unscoped('verify a key by its hash')
        .findOne({ hash: hashApiKey(request.key, keyHashSecret) });
      const orgId = key?.org_id ?? NO_ORG;
      const [org, workspace] = await Promise.all([
        stores.orgs.in({ _id: orgId }).findOne(),
        stores.workspaces.in({ org_id: orgId }).findOne({ _id: key?.workspace_id ?? NO_WORKSPACE }),
      ]);
      const now = new Date();
      const usable =
        key !== null &&
        key.revoked_at === null &&
        (key.expires_at === null || key.expires_at > now) &&
        org !== null &&
        (key.workspace_id === null || workspace?.status === 'active');
      if (!usable) throw unauthorized('invalid API key');
      if (org.status === 'suspended') throw forbidden('organization is suspended');
      lastUsed.touch(key._id);
      return {
        key_id: key._id,
        org_id: key.org_id,
        workspace_id: key.workspace_id,
        scopes: key.scopes,
        plan: org.plan,
        expires_at: key.expires_at ? key.expires_at.toISOString() : null,
      };
    },
  };
}
