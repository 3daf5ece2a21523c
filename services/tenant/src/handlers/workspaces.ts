import { DEFAULT_WORKSPACE_SETTINGS, PLANS } from '@kb/contracts';
import { conflict, notFound, unavailable } from '@kb/errors';
import { isId, newId } from '@kb/tenancy';
import { checkLimit, confirmLimit, type LimitCheck, mergeSettings } from '../domain/limits.js';
import { decodeCursor, toPage } from '../domain/pagination.js';
import { orgOf, workspaceOf } from '../domain/tenant-scope.js';
import { toWorkspace } from '../domain/views.js';
import type { OrgDoc, TenantStores, WorkspaceDoc } from '../store/index.js';
import type { HandlerDeps, TenantHandlers } from './deps.js';

type WorkspaceHandlers = TenantHandlers<
  | 'tenant.workspace.create'
  | 'tenant.workspace.list'
  | 'tenant.workspace.get'
  | 'tenant.workspace.update'
  | 'tenant.workspace.delete'
  | 'tenant.workspace.locate'
>;

export async function findOrg(stores: TenantStores, org: string): Promise<OrgDoc> {
  const doc = await stores.orgs.in({ _id: org }).findOne();
  if (!doc) throw notFound('organization not found');
  return doc;
}

/** The workspace, if it is this organization's and not deleted; a foreign id is simply not found. */
export async function findWorkspace(stores: TenantStores, org: string, ws: string): Promise<WorkspaceDoc> {
  const doc = await stores.workspaces.in({ org_id: org }).findOne({ _id: ws, status: 'active' });
  if (!doc) throw notFound('workspace not found');
  return doc;
}

export function workspaceHandlers({
  stores,
  audit,
  revocations,
  workspaceEvents,
}: HandlerDeps): WorkspaceHandlers {
  return {
    async 'tenant.workspace.create'(request, { tenant }) {
      const org = await findOrg(stores, orgOf(tenant));
      const workspaces = stores.workspaces.in({ org_id: org._id });
      const limit: LimitCheck = {
        limit: PLANS[org.plan].workspaces,
        what: 'workspaces',
        plan: org.plan,
        count: (upTo) =>
          workspaces.countDocuments({ status: 'active', ...(upTo ? { _id: { $lte: upTo } } : {}) }),
      };
      await checkLimit(limit);
      const now = new Date();
      const doc = await workspaces.create({
        _id: newId('workspace'),
        name: request.name,
        environment: request.environment ?? 'production',
        status: 'active',
        settings: structuredClone(DEFAULT_WORKSPACE_SETTINGS),
        created_at: now,
        updated_at: now,
        deleted_at: null,
      });
      await confirmLimit(limit, doc._id, () => workspaces.deleteOne({ _id: doc._id }));
      await audit.record(tenant, 'workspace.created', { workspace_id: doc._id, target: doc._id });
      return toWorkspace(doc);
    },

    async 'tenant.workspace.list'(request, { tenant }) {
      const org = orgOf(tenant);
      const after = decodeCursor(request.cursor, (id) => isId(id, 'workspace'));
      const rows = await stores.workspaces
        .in({ org_id: org })
        .find(
          { status: 'active', ...(after ? { _id: { $gt: after } } : {}) },
          { sort: { _id: 1 }, limit: request.limit + 1 },
        );
      return toPage(rows, request.limit, toWorkspace, (row) => row._id);
    },

    async 'tenant.workspace.get'(_request, { tenant }) {
      const { org, ws } = workspaceOf(tenant);
      return toWorkspace(await findWorkspace(stores, org, ws));
    },

    async 'tenant.workspace.update'(request, { tenant }) {
      const { org, ws } = workspaceOf(tenant);
      const current = await findWorkspace(stores, org, ws);
      const { plan } = await findOrg(stores, org);
      const set: Partial<WorkspaceDoc> = { updated_at: new Date() };
      if (request.name !== undefined) set.name = request.name;
      if (request.settings !== undefined)
        set.settings = mergeSettings(plan, current.settings, request.settings);
      // The settings were checked against the values read above: write only if they are still those.
      const updated = await stores.workspaces.in({ org_id: org }).findOneAndUpdate(
        {
          _id: ws,
          status: 'active',
          'settings.chunk_size': current.settings.chunk_size,
          'settings.chunk_overlap': current.settings.chunk_overlap,
        },
        { $set: set },
      );
      if (updated) return toWorkspace(updated);
      await findWorkspace(stores, org, ws);
      throw conflict('the workspace changed during the update; retry');
    },

    async 'tenant.workspace.delete'(_request, { tenant }) {
      const { org, ws } = workspaceOf(tenant);
      const now = new Date();
      const deleted = await stores.workspaces
        .in({ org_id: org })
        .findOneAndUpdate(
          { _id: ws, status: 'active' },
          { $set: { status: 'deleting', deleted_at: now, updated_at: now } },
        );
      if (!deleted) throw notFound('workspace not found');
      try {
        await workspaceEvents.deleted(tenant, now);
      } catch (error) {
        // Without the announcement nothing would purge its data: the workspace stays, the caller retries.
        await stores.workspaces
          .in({ org_id: org })
          .updateOne(
            { _id: ws, status: 'deleting', deleted_at: now },
            { $set: { status: 'active', deleted_at: null, updated_at: new Date() } },
          );
        throw unavailable('the workspace could not be deleted just now; retry', 1, error);
      }
      const keys = stores.keys.in({ org_id: org, workspace_id: ws });
      const live = await keys.find({ revoked_at: null });
      await keys.updateMany({ revoked_at: null }, { $set: { revoked_at: now } });
      revocations.broadcast({
        key_ids: live.map((key) => key._id),
        org_id: org,
        reason: 'workspace-deleted',
      });
      await audit.record(tenant, 'workspace.deleted', {
        target: ws,
        detail: `${live.length} key(s) revoked`,
      });
      return toWorkspace(deleted);
    },

    async 'tenant.workspace.locate'(request) {
      // Only the operator's master key needs this: it names a workspace without knowing its organization.
      const doc = await stores.workspaces
        .unscoped('locate a workspace for the operator')
        .findOne({ _id: request.workspace_id, status: 'active' });
      if (!doc) throw notFound('workspace not found');
      return { org_id: doc.org_id };
    },
  };
}
