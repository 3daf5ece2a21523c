import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  ActivityList,
  AuditEntry,
  CreatedKey,
  CreateOrganization,
  CreateOrgKey,
  ListOf,
  ListQuery,
  Organization,
  OrgId,
  UpdateOrganization,
} from '@kb/contracts';
import { newId } from '@kb/tenancy';
import { Type } from '@sinclair/typebox';
import { BEARER_AUTH, call, problems, type RouteDeps } from './deps.js';

const OrgParams = Type.Object({ org_id: OrgId });

/** Operator routes (master key): organizations, their admin keys, their audit log and their activity. */
export function orgRoutes(deps: RouteDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/v1/orgs',
      {
        schema: {
          tags: ['operator'],
          summary: 'Create an organization',
          security: BEARER_AUTH,
          body: CreateOrganization,
          response: { 201: Organization, ...problems(400, 401, 403, 503) },
        },
      },
      async (request, reply) => {
        const principal = deps.access.operator(request);
        const org = newId('org');
        const created = await call(
          deps,
          request,
          'tenant.org.create',
          deps.access.caller(request, principal, org, null),
          request.body,
        );
        return reply.code(201).send(created);
      },
    );

    app.get(
      '/v1/orgs/:org_id',
      {
        schema: {
          tags: ['operator'],
          summary: 'Get an organization',
          security: BEARER_AUTH,
          params: OrgParams,
          response: { 200: Organization, ...problems(400, 401, 403, 404, 503) },
        },
      },
      async (request) => {
        const principal = deps.access.operator(request);
        return call(
          deps,
          request,
          'tenant.org.get',
          deps.access.caller(request, principal, request.params.org_id, null),
          {},
        );
      },
    );

    app.patch(
      '/v1/orgs/:org_id',
      {
        schema: {
          tags: ['operator'],
          summary: 'Rename an organization, change its plan, suspend or reactivate it',
          security: BEARER_AUTH,
          params: OrgParams,
          body: UpdateOrganization,
          response: { 200: Organization, ...problems(400, 401, 403, 404, 503) },
        },
      },
      async (request) => {
        const principal = deps.access.operator(request);
        const caller = deps.access.caller(request, principal, request.params.org_id, null);
        return call(deps, request, 'tenant.org.update', caller, request.body);
      },
    );

    app.post(
      '/v1/orgs/:org_id/keys',
      {
        schema: {
          tags: ['operator'],
          summary: 'Create an organization-admin key (shown once)',
          security: BEARER_AUTH,
          params: OrgParams,
          body: CreateOrgKey,
          response: { 201: CreatedKey, ...problems(400, 401, 403, 404, 429, 503) },
        },
      },
      async (request, reply) => {
        const principal = deps.access.operator(request);
        const caller = deps.access.caller(request, principal, request.params.org_id, null);
        return reply
          .code(201)
          .send(await call(deps, request, 'tenant.org.keys.create', caller, request.body));
      },
    );

    app.get(
      '/v1/ops/orgs/:org_id/activity',
      {
        schema: {
          tags: ['operator'],
          summary: "An organization's recent requests and ingestion jobs, newest first",
          description:
            'Requests made with its workspace keys and search tokens (route, HTTP status, duration) and ' +
            'ingestion jobs (job, state, time from acceptance to outcome, failure reason), each with its ' +
            'trace id and request id, kept for 3 days. Requests appear within seconds; each second at most ' +
            '20 requests per workspace are described, failures first.',
          security: BEARER_AUTH,
          params: OrgParams,
          querystring: ListQuery,
          response: { 200: ActivityList, ...problems(400, 401, 403, 404, 503) },
        },
      },
      async (request) => {
        const principal = deps.access.operator(request);
        const caller = deps.access.caller(request, principal, request.params.org_id, null);
        // The organization must exist (404 otherwise); its activity is the usage service's.
        const [, activity] = await Promise.all([
          call(deps, request, 'tenant.org.get', caller, {}),
          call(deps, request, 'usage.activity.list', caller, request.query),
        ]);
        return activity;
      },
    );

    app.get(
      '/v1/ops/orgs/:org_id/audit',
      {
        schema: {
          tags: ['operator'],
          summary: "An organization's audit log, newest first",
          security: BEARER_AUTH,
          params: OrgParams,
          querystring: ListQuery,
          response: { 200: ListOf(AuditEntry), ...problems(400, 401, 403, 404, 503) },
        },
      },
      async (request) => {
        const principal = deps.access.operator(request);
        const caller = deps.access.caller(request, principal, request.params.org_id, null);
        return call(deps, request, 'tenant.audit.list', caller, request.query);
      },
    );
  };
}
