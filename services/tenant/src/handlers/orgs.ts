import type { CredentialsRevoked } from '@kb/contracts';
import { conflict, notFound } from '@kb/errors';
import { issueKey } from '../domain/keys.js';
import { isDuplicateKey } from '../domain/mongo-errors.js';
import { orgOf } from '../domain/tenant-scope.js';
import { toOrganization } from '../domain/views.js';
import type { OrgDoc } from '../store/index.js';
import type { HandlerDeps, TenantHandlers } from './deps.js';

type OrgHandlers = TenantHandlers<
  'tenant.org.create' | 'tenant.org.get' | 'tenant.org.update' | 'tenant.org.keys.create'
>;

/** Operator endpoints on `kb.<org>._.tenant.org.*`; the gateway generated the id the subject carries. */
export function orgHandlers({ stores, audit, revocations, keyHashSecret }: HandlerDeps): OrgHandlers {
  const existing = async (org: string): Promise<OrgDoc> => {
    const doc = await stores.orgs.in({ _id: org }).findOne();
    if (!doc) throw notFound('organization not found');
    return doc;
  };

  return {
    async 'tenant.org.create'(request, { tenant }) {
      const org = orgOf(tenant);
      const now = new Date();
      const plan = request.plan ?? 'free';
      try {
        const doc = await stores.orgs.in({ _id: org }).create({
          name: request.name,
          plan,
          status: 'active',
          settings: {},
          created_at: now,
          updated_at: now,
        });
        await audit.record(tenant, 'org.created', { target: org, detail: `plan ${plan}` });
        return toOrganization(doc);
      } catch (error) {
        if (isDuplicateKey(error)) throw conflict(`organization ${org} already exists`);
        throw error;
      }
    },

    async 'tenant.org.get'(_request, { tenant }) {
      return toOrganization(await existing(orgOf(tenant)));
    },

    async 'tenant.org.update'(request, { tenant }) {
      const org = orgOf(tenant);
      const changes: Partial<OrgDoc> = { updated_at: new Date() };
      if (request.name !== undefined) changes.name = request.name;
      if (request.plan !== undefined) changes.plan = request.plan;
      if (request.status !== undefined) changes.status = request.status;
      // The document before the change, read and written in one step: what changed decides what to announce.
      const before = await stores.orgs
        .in({ _id: org })
        .findOneAndUpdate({}, { $set: changes }, { returnDocument: 'before' });
      if (!before) throw notFound('organization not found');
      const after: OrgDoc = { ...before, ...changes };

      const planChanged = after.plan !== before.plan;
      const statusChanged = after.status !== before.status;
      if (statusChanged) {
        await audit.record(tenant, 'org.status-changed', {
          target: org,
          detail: `${before.status} -> ${after.status}`,
        });
      }
      if (planChanged) {
        await audit.record(tenant, 'org.plan-changed', {
          target: org,
          detail: `${before.plan} -> ${after.plan}`,
        });
      }
      let reason: CredentialsRevoked['reason'] | null = null;
      if (statusChanged && after.status === 'suspended') reason = 'org-suspended';
      else if (planChanged) reason = 'org-plan-changed';
      // Every credential of the organization: gateways drop whatever they cached for it.
      if (reason) revocations.broadcast({ key_ids: [], org_id: org, reason });
      return toOrganization(after);
    },

    async 'tenant.org.keys.create'(request, { tenant }) {
      const org = (await existing(orgOf(tenant)))._id;
      const created = await issueKey(stores, keyHashSecret, {
        org,
        ws: null,
        name: request.name,
        scopes: ['org:admin'],
        environment: 'live',
        expiresAt: null,
      });
      await audit.record(tenant, 'key.created', {
        workspace_id: null,
        target: created.id,
        detail: 'organization-admin key',
      });
      return created;
    },
  };
}
