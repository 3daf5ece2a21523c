import type { Caller, Requester } from '@kb/bus';
import { forbidden, notFound, unauthorized } from '@kb/errors';
import { type ContextSigner, ORG_LEVEL, type Scope, SYSTEM_ORG, type TenantContext } from '@kb/tenancy';
import type { FastifyRequest } from 'fastify';
import type { Principal, WorkspacePrincipal } from '../auth/principal.js';
import { inRequestSpan } from '../plugins/tracing.js';

export interface Access {
  /** The operator (master key) only. */
  operator(request: FastifyRequest): Principal;
  /** The operator, or an organization admin of `orgId`; another organization's admin gets 404. */
  orgAdmin(request: FastifyRequest, orgId: string): Principal;
  /** An organization admin (or the operator) acting on workspace `wsId`: its organization, from the key alone. */
  workspaceAdmin(request: FastifyRequest, wsId: string): Promise<{ principal: Principal; org: string }>;
  /** A workspace key or search token holding `scope`. */
  workspace(request: FastifyRequest, scope: Scope): WorkspacePrincipal;
  /** The signed context for a call on `org`/`ws` made on behalf of `principal`. */
  caller(request: FastifyRequest, principal: Principal, org: string, ws: string | null): Caller;
}

export function createAccess(signer: ContextSigner, request: Requester): Access {
  const principalOf = (req: FastifyRequest): Principal => {
    if (!req.principal) throw unauthorized();
    return req.principal;
  };
  const sign = (context: TenantContext): Caller => ({ context, token: signer.sign(context) });

  return {
    operator(req) {
      const principal = principalOf(req);
      if (principal.kind !== 'operator') throw forbidden('this route requires the master key');
      return principal;
    },
    orgAdmin(req, orgId) {
      const principal = principalOf(req);
      if (principal.kind === 'operator') return principal;
      if (principal.kind !== 'org-admin')
        throw forbidden('this route requires an organization-admin key (scope org:admin)');
      if (principal.org !== orgId) throw notFound('organization not found');
      return principal;
    },
    async workspaceAdmin(req, wsId) {
      const principal = principalOf(req);
      if (principal.kind === 'org-admin') return { principal, org: principal.org };
      if (principal.kind !== 'operator')
        throw forbidden('this route requires an organization-admin key (scope org:admin)');
      const context: TenantContext = {
        org: SYSTEM_ORG,
        ws: ORG_LEVEL,
        kid: 'gateway',
        scopes: ['system'],
        plan: '',
        rid: req.id,
      };
      const located = await inRequestSpan(req, () =>
        request('tenant.workspace.locate', sign(context), { workspace_id: wsId }),
      );
      return { principal, org: located.org_id };
    },
    workspace(req, scope) {
      const principal = principalOf(req);
      if (principal.kind !== 'workspace' && principal.kind !== 'search-token') {
        throw forbidden(`this route requires a workspace key with the ${scope} scope`);
      }
      if (!principal.scopes.includes(scope)) throw forbidden(`this key lacks the ${scope} scope`);
      return principal;
    },
    caller(req, principal, org, ws) {
      return sign({
        org,
        ws: ws ?? ORG_LEVEL,
        kid: principal.kid,
        scopes: principal.scopes,
        plan: 'plan' in principal ? principal.plan : '',
        rid: req.id,
      });
    },
  };
}
