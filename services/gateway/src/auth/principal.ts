import type { SearchFilter } from '@kb/contracts';
import type { Scope } from '@kb/tenancy';

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
