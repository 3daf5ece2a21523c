import { invalid } from '@kb/errors';
import { isId, ORG_LEVEL, type TenantContext } from '@kb/tenancy';

/*
 * The tenant of an operation comes only from the verified context (whose tokens equal the subject's), never
 * from the request body.
 */

/** The organization of an organization-level operation (`kb.<org>._.…`). */
export function orgOf(tenant: TenantContext): string {
  if (!isId(tenant.org, 'org') || tenant.ws !== ORG_LEVEL) {
    throw invalid('subject: this operation is organization-level (kb.<org>._.…)');
  }
  return tenant.org;
}

/** The organization and workspace of a workspace-level operation (`kb.<org>.<ws>.…`). */
export function workspaceOf(tenant: TenantContext): { org: string; ws: string } {
  if (!isId(tenant.org, 'org') || !isId(tenant.ws, 'workspace')) {
    throw invalid('subject: this operation needs a workspace (kb.<org>.<ws>.…)');
  }
  return { org: tenant.org, ws: tenant.ws };
}
