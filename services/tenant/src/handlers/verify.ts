import { forbidden, unauthorized } from '@kb/errors';
import { unscoped } from '@kb/store';
import { hashApiKey, isWellFormedApiKey } from '@kb/tenancy';
import { DECOY_ID } from '../domain/decoys.js';
import type { HandlerDeps, TenantHandlers } from './deps.js';

type VerifyHandlers = TenantHandlers<'tenant.keys.verify'>;

/**
 * Key verification for the gateway (`kb.sys.tenant.keys.verify`, system context). A well-formed key costs
 * the same work whether it exists or not: the id behind its hash (a missing key's is the stand-in's, see
 * domain/decoys.ts), then that key, its organization and its workspace, each read by id and each returning
 * a document, so timings do not tell which keys exist.
 */
export function verifyHandlers({ stores, lastUsed, keyHashSecret }: HandlerDeps): VerifyHandlers {
  return {
    async 'tenant.keys.verify'(request) {
      if (!isWellFormedApiKey(request.key)) throw unauthorized('invalid API key');
      const hash = hashApiKey(request.key, keyHashSecret);
      const match = await unscoped(
        'verify a key by its hash',
        stores.keys.model.findOne({ hash }, { _id: 1 }).lean<{ _id: string }>(),
      ).exec();
      const known = match !== null && match._id !== DECOY_ID;
      const key = await stores.keys.unscoped('a key by the id its hash names').findOne({
        _id: known ? match._id : DECOY_ID,
      });
      const [org, workspace] = await Promise.all([
        stores.orgs.in({ _id: key?.org_id ?? DECOY_ID }).findOne(),
        stores.workspaces
          .in({ org_id: key?.org_id ?? DECOY_ID })
          .findOne({ _id: key?.workspace_id ?? DECOY_ID }),
      ]);
      const now = new Date();
      const usable =
        known &&
        key !== null &&
        key.hash === hash &&
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
