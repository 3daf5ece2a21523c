import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Quotas, UsageReport, UsageReportQuery } from '@kb/contracts';
import { BEARER_AUTH, call, problems, type RouteDeps } from './deps.js';

/** The workspace's usage and quotas (workspace key with `usage:read`); the workspace is the key's. */
export function usageRoutes(deps: RouteDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/v1/usage',
      {
        schema: {
          tags: ['workspace'],
          summary:
            "The workspace's usage per day or hour (UTC): api_calls, documents, bytes, chunks, searches",
          description:
            'Items only for periods with usage, by period then metric. Gauges (documents, bytes_ingested, ' +
            'chunks_stored) are net of deletions. Usage appears within seconds of the work.',
          security: BEARER_AUTH,
          querystring: UsageReportQuery,
          response: { 200: UsageReport, ...problems(400, 401, 403, 429, 503) },
        },
      },
      async (request) => {
        const principal = deps.access.workspace(request, 'usage:read');
        const caller = deps.access.caller(request, principal, principal.org, principal.ws);
        return call(deps, request, 'usage.report.get', caller, request.query);
      },
    );

    app.get(
      '/v1/quotas',
      {
        schema: {
          tags: ['workspace'],
          summary:
            "The workspace's quotas: limit, use and what remains (also bounded by the organization's plan)",
          description:
            'documents, storage_bytes and chunks count what the workspace holds now; searches_per_month the ' +
            'current calendar month (UTC). Limits are the plan’s, lowered by the workspace’s overrides.',
          security: BEARER_AUTH,
          response: { 200: Quotas, ...problems(401, 403, 429, 503) },
        },
      },
      async (request) => {
        const principal = deps.access.workspace(request, 'usage:read');
        const caller = deps.access.caller(request, principal, principal.org, principal.ws);
        return call(deps, request, 'usage.quotas.get', caller, {});
      },
    );
  };
}
