import { effectiveLimits } from '@kb/contracts';
import { invalid, notFound } from '@kb/errors';
import { isId } from '@kb/tenancy';
import { issueKey, liveKeys } from '../domain/keys.js';
import { checkLimit, confirmLimit, type LimitCheck } from '../domain/limits.js';
import { decodeCursor, toPage } from '../domain/pagination.js';
import { workspaceOf } from '../domain/tenant-scope.js';
import { toKeyInfo } from '../domain/views.js';
import type { HandlerDeps, TenantHandlers } from './deps.js';
import { findOrg, findWorkspace } from './workspaces.js';

type KeyHandlers = TenantHandlers<'tenant.keys.create' | 'tenant.keys.list' | 'tenant.keys.revoke'>;

/** Workspace keys, managed on `kb.<org>.<ws>.tenant.keys.*` by the organization's admin or the operator. */
export function keyHandlers({ stores, audit, revocations, keyHashSecret }: HandlerDeps): KeyHandlers {
  return {
    async 'tenant.keys.create'(request, { tenant }) {
      const { org, ws } = workspaceOf(tenant);
      const workspace = await findWorkspace(stores, org, ws);
      const { plan } = await findOrg(stores, org);
      const now = new Date();
      const expiresAt = request.expires_at ? new Date(request.expires_at) : null;
      if (expiresAt && expiresAt <= now) throw invalid('request.expires_at: must be in the future');

      const keys = stores.keys.in({ org_id: org, workspace_id: ws });
      const limit: LimitCheck = {
        limit: effectiveLimits(plan, workspace.settings.limits).keys,
        what: 'active keys per workspace',
        plan,
        count: (upTo) => keys.countDocuments({ ...liveKeys(now), ...(upTo ? { _id: { $lte: upTo } } : {}) }),
      };
      await checkLimit(limit);
      const created = await issueKey(stores, keyHashSecret, {
        org,
        ws,
        name: request.name,
        scopes: request.scopes,
        // Keys of development and staging workspaces are recognisably not production ones.
        environment: workspace.environment === 'production' ? 'live' : 'test',
        expiresAt,
      });
      await confirmLimit(limit, created.id, () => keys.deleteOne({ _id: created.id }));
      await audit.record(tenant, 'key.created', { target: created.id, detail: request.scopes.join(' ') });
      return created;
    },

    async 'tenant.keys.list'(request, { tenant }) {
      const { org, ws } = workspaceOf(tenant);
      await findWorkspace(stores, org, ws);
      const after = decodeCursor(request.cursor, (id) => isId(id, 'key'));
      const rows = await stores.keys
        .in({ org_id: org, workspace_id: ws })
        .find(after ? { _id: { $gt: after } } : {}, { sort: { _id: 1 }, limit: request.limit + 1 });
      return toPage(rows, request.limit, toKeyInfo, (row) => row._id);
    },

    async 'tenant.keys.revoke'(request, { tenant }) {
      const { org, ws } = workspaceOf(tenant);
      await findWorkspace(stores, org, ws);
      const keys = stores.keys.in({ org_id: org, workspace_id: ws });
      const key = await keys.findOne({ _id: request.key_id });
      if (!key) throw notFound('key not found');
      const { modified } = await keys.updateOne(
        { _id: key._id, revoked_at: null },
        { $set: { revoked_at: new Date() } },
      );
      if (modified > 0) await audit.record(tenant, 'key.revoked', { target: key._id });
      // Announced again on a repeated revocation: the broadcast is at-most-once, a repeat is harmless.
      revocations.broadcast({ key_ids: [key._id], org_id: org, reason: 'key-revoked' });
      return {};
    },
  };
}
