import type { SearchFilter } from '@kb/contracts';
import type { Scope } from '@kb/tenancy';
import type { FastifyRequest } from 'fastify';

/** Who is calling, as decided by the credential alone. */
export type Principal =
  | { kind: 'operator'; kid: 'master'; scopes: Scope[] }
  | { kind: 'org-admin'; kid: string; org: string; plan: string; scopes: Scope[] }
  | { kind: 'workspace'; kid: string; org: string; ws: string; plan: string; scopes: Scope[] }
  | {
      kind: 'search-token';
      kid: string;
      org: string;
      ws: string;
      plan: string;
      scopes: Scope[];
      filter: SearchFilter | null;
    };

export type WorkspacePrincipal = Extract<Principal, { kind: 'workspace' | 'search-token' }>;

/** The tenant a principal acts for (`_` as workspace for organization-level keys); none for the operator. */
export const tenantOfPrincipal = (principal: Principal): { org: string; ws: string } | null =>
  'org' in principal ? { org: principal.org, ws: 'ws' in principal ? principal.ws : '_' } : null;

/**
 * The credential's fields for a request's log lines (`key_id`, `org_id`, `workspace_id`), added to the
 * lines themselves rather than through a child logger per request.
 */
export function principalLogFields(request: FastifyRequest): Record<string, string> {
  const principal = request.principal;
  if (!principal) return {};
  const tenant = tenantOfPrincipal(principal);
  return tenant
    ? { key_id: principal.kid, org_id: tenant.org, workspace_id: tenant.ws }
    : { key_id: principal.kid };
}
