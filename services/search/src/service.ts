import { type NatsConnection, type RefusalRecorder, type ServedService, serveOperations } from '@kb/bus';
import type { Logger } from '@kb/log';
import { statusHandler } from '@kb/runtime';
import type { ContextVerifier, TenantContext } from '@kb/tenancy';
import { type SearchDeps as EngineDeps, search } from './domain/search.js';

export interface SearchDeps extends EngineDeps {
  nc: NatsConnection;
  log: Logger;
  verifier: ContextVerifier;
  version: string;
  instance: string;
  onRefused?: RefusalRecorder;
  /** Called after each answered query, e.g. to meter it. */
  onSearched?: (tenant: TenantContext) => void;
}

/** Builds the search service's NATS endpoints from its dependencies; `main.ts` wires the real ones. */
export function buildSearchService(deps: SearchDeps): Promise<ServedService> {
  return serveOperations(deps.nc, {
    name: 'search',
    version: deps.version,
    description: 'query embedding and retrieval from a workspace collection',
    instance: deps.instance,
    verifier: deps.verifier,
    log: deps.log,
    ...(deps.onRefused ? { onRefused: deps.onRefused } : {}),
    handlers: {
      'search.status': statusHandler('search', deps.version, deps.instance),
      'search.query': async (request, { tenant }) => {
        const response = await search(deps, tenant, request);
        deps.onSearched?.(tenant);
        return response;
      },
    },
  });
}
