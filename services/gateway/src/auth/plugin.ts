import type { FastifyInstance, FastifyRequest } from 'fastify';
import { routeInfo } from '../plugins/route.js';
import { inRequestSpan, settleRequestTrace } from '../plugins/tracing.js';
import { type Principal, tenantOfPrincipal } from './principal.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
  }
  interface FastifyContextConfig {
    /** Routes that answer without a credential (health, docs). */
    public?: boolean;
  }
}

export type ResolveCredential = (
  authorization: string | undefined,
  requestId: string,
) => Principal | Promise<Principal>;

/**
 * Authenticates every non-public route before its handler runs, and drops client-sent `Kb-*` headers: the
 * tenant comes from the credential alone. Callback hooks: a credential the gateway knows costs no promise.
 */
export function registerAuth(app: FastifyInstance, resolve: ResolveCredential): void {
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', (request, _reply, done) => {
    for (const name in request.headers) if (name.startsWith('kb-')) delete request.headers[name];
    done();
  });
  app.addHook('preHandler', (request, _reply, done) => {
    if (routeInfo(request).exempt) return done();
    let resolved: Principal | Promise<Principal>;
    try {
      // A key not yet cached is verified over the bus, inside the request's trace.
      resolved = inRequestSpan(request, () => resolve(request.headers.authorization, request.id));
    } catch (error) {
      return done(error as Error);
    }
    if (resolved instanceof Promise) {
      resolved.then((principal) => {
        adopt(request, principal);
        done();
      }, done);
    } else {
      adopt(request, resolved);
      done();
    }
  });
}

/** The credential names the request's tenant: its trace and its sampling say so from here. */
function adopt(request: FastifyRequest, principal: Principal): void {
  request.principal = principal;
  request.span?.setAttribute('kb.key_id', principal.kid);
  settleRequestTrace(request, tenantOfPrincipal(principal));
}
