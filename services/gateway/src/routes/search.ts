import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { SearchRequest, SearchResponse } from '@kb/contracts';
import { assertQuota, BEARER_AUTH, call, problems, type RouteDeps } from './deps.js';

/** `POST /v1/search`: a workspace key with the search scope, or a search token whose filter always applies. */
export function searchRoutes(deps: RouteDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/v1/search',
      {
        schema: {
          tags: ['workspace'],
          summary: "Search the key's workspace (hybrid, dense or sparse), with metadata and document filters",
          security: BEARER_AUTH,
          body: SearchRequest,
          response: { 200: SearchResponse, ...problems(400, 401, 403, 429, 503) },
        },
      },
      async (request) => {
        const principal = deps.access.workspace(request, 'search');
        const caller = deps.access.caller(request, principal, principal.org, principal.ws);
        await assertQuota(deps, request, caller, 'searches_per_month', 1);
        return call(deps, request, 'search.query', caller, {
          query: request.body.query,
          top_k: request.body.top_k ?? 10,
          mode: request.body.mode ?? 'hybrid',
          filter: request.body.filter ?? null,
          restrict: principal.kind === 'search-token' ? principal.filter : null,
        });
      },
    );
  };
}
