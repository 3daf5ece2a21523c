/** What a credential may do. Workspace keys hold data scopes; organization-admin keys hold `org:admin`. */
export const WORKSPACE_SCOPES = [
  'documents:read',
  'documents:write',
  'documents:delete',
  'search',
  'usage:read',
] as const;
export const ALL_SCOPES = [...WORKSPACE_SCOPES, 'org:admin', 'operator', 'system'] as const;

export type WorkspaceScope = (typeof WORKSPACE_SCOPES)[number];
export type Scope = (typeof ALL_SCOPES)[number];

export const isScope = (value: unknown): value is Scope =>
  typeof value === 'string' && (ALL_SCOPES as readonly string[]).includes(value);

/**
 * Whether `granted` allows an operation that requires `required`. The operator may do everything an
 * organization admin may; an organization admin may manage workspaces but reads no workspace data.
 */
export function scopeAllows(granted: readonly Scope[], required: Scope): boolean {
  if (granted.includes(required)) return true;
  if (required === 'org:admin') return granted.includes('operator');
  return false;
}
