import type { FastifyInstance, FastifyRequest } from 'fastify';

/** What the gateway's hooks need to know of a request's route, read once per request. */
export interface RouteInfo {
  /** The route template (`/v1/workspaces/:ws_id`), or `unmatched`. */
  url: string;
  /** Answered without a credential for machines: health, readiness, metrics, OpenAPI, docs. */
  probe: boolean;
  /** Neither authenticated nor limited: the probes and requests that match no route. */
  exempt: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    kbRoute: RouteInfo | null;
  }
}

export function registerRouteInfo(app: FastifyInstance): void {
  app.decorateRequest('kbRoute', null);
}

/**
 * The request's route facts. Fastify's `request.routeOptions` builds a new object on every read, and
 * every hook of a request asks, so the answer is kept on the request.
 */
export function routeInfo(request: FastifyRequest): RouteInfo {
  let info = request.kbRoute;
  if (info) return info;
  const { url, config } = request.routeOptions;
  const probe = config.public === true || (url ?? '').startsWith('/docs');
  info = { url: url ?? 'unmatched', probe, exempt: probe || url === undefined };
  request.kbRoute = info;
  return info;
}
