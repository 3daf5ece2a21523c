import type { FastifyInstance } from 'fastify';
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
    request.principal = await resolve(request.headers.authorization, request.id);
    request.span?.setAttributes({
      'kb.key_id': request.principal.kid,
      ...('org' in request.principal ? { 'kb.org_id': request.principal.org } : {}),
      ...('ws' in request.principal ? { 'kb.workspace_id': request.principal.ws } : {}),
    });
  });
}
