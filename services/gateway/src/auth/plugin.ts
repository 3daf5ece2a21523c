import type { FastifyInstance } from 'fastify';
import { settleRequestTrace } from '../plugins/tracing.js';
import type { Principal } from './principal.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
  }
  interface FastifyContextConfig {
    /** Routes that answer without a credential (health, docs). */
    public?: boolean;
  }
}

export type ResolveCredential = (authorization: string | undefined, requestId: string) => Promise<Principal>;

/**
 * Authenticates every non-public route before its handler runs, and drops client-sent `Kb-*` headers: the
 * tenant comes from the credential alone.
 */
export function registerAuth(app: FastifyInstance, resolve: ResolveCredential): void {
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (request) => {
    for (const name of Object.keys(request.headers)) if (name.startsWith('kb-')) delete request.headers[name];
  });
  app.addHook('preHandler', async (request) => {
    if (request.routeOptions.config.public || request.is404 || request.routeOptions.url?.startsWith('/docs'))
      return;
    const principal = await resolve(request.headers.authorization, request.id);
    request.principal = principal;
    // The credential names the request's tenant: its trace, its sampling and its log lines say so from here.
    const tenant =
      'org' in principal ? { org: principal.org, ws: 'ws' in principal ? principal.ws : '_' } : null;
    request.span?.setAttribute('kb.key_id', principal.kid);
    settleRequestTrace(request, tenant);
    request.log = request.log.child({
      key_id: principal.kid,
      ...(tenant ? { org_id: tenant.org, workspace_id: tenant.ws } : {}),
    });
  });
}
