import type { AuditEntry, Organization, Workspace } from '@kb/contracts';
import type { ApiKeyDoc, AuditDoc, OrgDoc, WorkspaceDoc } from '../store/index.js';

/** Stored documents to the replies of the contracts (ids renamed, dates as ISO strings). */
const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);

export const toOrganization = (doc: OrgDoc): Organization => ({
  id: doc._id,
  name: doc.name,
  plan: doc.plan,
  status: doc.status,
  settings: doc.settings ?? {},
  created_at: doc.created_at.toISOString(),
  updated_at: doc.updated_at.toISOString(),
});

export const toWorkspace = (doc: WorkspaceDoc): Workspace => ({
  id: doc._id,
  org_id: doc.org_id,
  name: doc.name,
  environment: doc.environment,
  status: doc.status,
  settings: {
    chunk_size: doc.settings.chunk_size,
    chunk_overlap: doc.settings.chunk_overlap,
    limits: doc.settings.limits ?? {},
  },
  created_at: doc.created_at.toISOString(),
  updated_at: doc.updated_at.toISOString(),
});

/** A key as listed: never its hash, and the secret is never stored at all. */
export const toKeyInfo = (doc: ApiKeyDoc) => ({
  id: doc._id,
  name: doc.name,
  prefix: doc.prefix,
  scopes: doc.scopes,
  expires_at: iso(doc.expires_at),
  created_at: doc.created_at.toISOString(),
  last_used_at: iso(doc.last_used_at),
  revoked_at: iso(doc.revoked_at),
});

export const toAuditEntry = (doc: AuditDoc): AuditEntry => ({
  id: doc._id,
  at: doc.at.toISOString(),
  action: doc.action,
  org_id: doc.org_id,
  workspace_id: doc.workspace_id,
  key_id: doc.key_id,
  request_id: doc.request_id,
  target: doc.target,
  detail: doc.detail,
});
