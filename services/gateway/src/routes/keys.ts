import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  CreatedKey,
  CreateSearchToken,
  CreateWorkspaceKey,
  KeyId,
  KeyList,
  ListQuery,
  SearchToken,
  WorkspaceId,
} from '@kb/contracts';
import { forbidden } from '@kb/errors';
import { Type } from '@sinclair/typebox';
import { BEARER_AUTH, call, problems, type RouteDeps } from './deps.js';

const WorkspaceParams = Type.Object({ ws_id: WorkspaceId });
const KeyParams = Type.Object({ ws_id: WorkspaceId, key_id: KeyId });

/** Workspace keys (organization admin) and search tokens (workspace key with the search scope). */
export function keyRoutes(deps: RouteDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/v1/workspaces/:ws_id/keys',
      {
        schema: {
          tags: ['organization admin'],
          summary: 'Create a workspace key (shown once)',
          security: BEARER_AUTH,
          params: WorkspaceParams,
          body: CreateWorkspaceKey,
          response: { 201: CreatedKey, ...problems(400, 401, 403, 404, 429, 503) },
        },
      },
      async (request, reply) => {
        const { principal, org } = await deps.access.workspaceAdmin(request, request.params.ws_id);
        const caller = deps.access.caller(request, principal, org, request.params.ws_id);
        return reply.code(201).send(await call(deps, request, 'tenant.keys.create', caller, request.body));
      },
    );

    app.get(
      '/v1/workspaces/:ws_id/keys',
      {
        schema: {
          tags: ['organization admin'],
          summary: "List a workspace's keys (never their secrets)",
          security: BEARER_AUTH,
          params: WorkspaceParams,
          querystring: ListQuery,
          response: { 200: KeyList, ...problems(400, 401, 403, 404, 503) },
        },
      },
      async (request) => {
        const { principal, org } = await deps.access.workspaceAdmin(request, request.params.ws_id);
        const caller = deps.access.caller(request, principal, org, request.params.ws_id);
        return call(deps, request, 'tenant.keys.list', caller, request.query);
      },
    );

    app.delete(
      '/v1/workspaces/:ws_id/keys/:key_id',
      {
        schema: {
          tags: ['organization admin'],
          summary: 'Revoke a workspace key (every gateway refuses it within a second)',
          security: BEARER_AUTH,
          params: KeyParams,
          response: { 204: Type.Null(), ...problems(400, 401, 403, 404, 503) },
        },
      },
      async (request, reply) => {
        const { principal, org } = await deps.access.workspaceAdmin(request, request.params.ws_id);
        const caller = deps.access.caller(request, principal, org, request.params.ws_id);
        await call(deps, request, 'tenant.keys.revoke', caller, { key_id: request.params.key_id });
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/v1/tokens',
      {
        schema: {
          tags: ['workspace'],
          summary: 'Issue a short-lived, search-only token for browsers; its filter applies to every query',
          security: BEARER_AUTH,
          body: CreateSearchToken,
          response: { 201: SearchToken, ...problems(400, 401, 403) },
        },
      },
      async (request, reply) => {
        const principal = deps.access.workspace(request, 'search');
        if (principal.kind === 'search-token') throw forbidden('a search token cannot issue search tokens');
        const issued = deps.tokens.issue(
          principal,
          request.body.filter ?? null,
          request.body.expires_in ?? 900,
        );
        return reply.code(201).send(issued);
      },
    );
  };
}
