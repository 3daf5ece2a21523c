import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  CreateWorkspace,
  ListQuery,
  OrgId,
  UpdateWorkspace,
  Workspace,
  WorkspaceId,
  WorkspaceList,
} from '@kb/contracts';
import { Type } from '@sinclair/typebox';
import { BEARER_AUTH, call, problems, type RouteDeps } from './deps.js';

const OrgParams = Type.Object({ org_id: OrgId });
const WorkspaceParams = Type.Object({ ws_id: WorkspaceId });

/** Organization-admin routes (org-admin key or the master key): workspaces. */
export function workspaceRoutes(deps: RouteDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/v1/orgs/:org_id/workspaces',
      {
        schema: {
          tags: ['organization admin'],
          summary: 'Create a workspace',
          security: BEARER_AUTH,
          params: OrgParams,
          body: CreateWorkspace,
          response: { 201: Workspace, ...problems(400, 401, 403, 404, 429, 503) },
        },
      },
      async (request, reply) => {
        const principal = deps.access.orgAdmin(request, request.params.org_id);
        const caller = deps.access.caller(request, principal, request.params.org_id, null);
        return reply
          .code(201)
          .send(await call(deps, request, 'tenant.workspace.create', caller, request.body));
      },
    );

    app.get(
      '/v1/orgs/:org_id/workspaces',
      {
        schema: {
          tags: ['organization admin'],
          summary: "List an organization's workspaces",
          security: BEARER_AUTH,
          params: OrgParams,
          querystring: ListQuery,
          response: { 200: WorkspaceList, ...problems(400, 401, 403, 404, 503) },
        },
      },
      async (request) => {
        const principal = deps.access.orgAdmin(request, request.params.org_id);
        const caller = deps.access.caller(request, principal, request.params.org_id, null);
        return call(deps, request, 'tenant.workspace.list', caller, request.query);
      },
    );

    app.get(
      '/v1/workspaces/:ws_id',
      {
        schema: {
          tags: ['organization admin'],
          summary: 'Get a workspace',
          security: BEARER_AUTH,
          params: WorkspaceParams,
          response: { 200: Workspace, ...problems(400, 401, 403, 404, 503) },
        },
      },
      async (request) => {
        const { principal, org } = await deps.access.workspaceAdmin(request, request.params.ws_id);
        return call(
          deps,
          request,
          'tenant.workspace.get',
          deps.access.caller(request, principal, org, request.params.ws_id),
          {},
        );
      },
    );

    app.patch(
      '/v1/workspaces/:ws_id',
      {
        schema: {
          tags: ['organization admin'],
          summary: 'Rename a workspace or change its settings (chunking, limit overrides within the plan)',
          security: BEARER_AUTH,
          params: WorkspaceParams,
          body: UpdateWorkspace,
          response: { 200: Workspace, ...problems(400, 401, 403, 404, 503) },
        },
      },
      async (request) => {
        const { principal, org } = await deps.access.workspaceAdmin(request, request.params.ws_id);
        const caller = deps.access.caller(request, principal, org, request.params.ws_id);
        return call(deps, request, 'tenant.workspace.update', caller, request.body);
      },
    );

    app.delete(
      '/v1/workspaces/:ws_id',
      {
        schema: {
          tags: ['organization admin'],
          summary: 'Delete a workspace with its documents, vectors and keys',
          security: BEARER_AUTH,
          params: WorkspaceParams,
          response: { 202: Workspace, ...problems(400, 401, 403, 404, 503) },
        },
      },
      async (request, reply) => {
        const { principal, org } = await deps.access.workspaceAdmin(request, request.params.ws_id);
        const caller = deps.access.caller(request, principal, org, request.params.ws_id);
        return reply.code(202).send(await call(deps, request, 'tenant.workspace.delete', caller, {}));
      },
    );
  };
}
