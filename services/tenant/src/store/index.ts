import type { Connection } from 'mongoose';
import { apiKeysModel } from './api-keys.js';
import { auditModel } from './audit.js';
import { organizationsModel } from './organizations.js';
import { workspacesModel } from './workspaces.js';

export type { ApiKeyDoc } from './api-keys.js';
export type { AuditDoc } from './audit.js';
export type { OrgDoc } from './organizations.js';
export type { WorkspaceDoc } from './workspaces.js';

export type TenantStores = Awaited<ReturnType<typeof createStores>>;

/**
 * The tenant service's collections on `connection`, with their indexes built (unique key hash among them)
 * before the first request. Only unique and plain indexes: FerretDB v1 has no TTL or partial indexes.
 */
export async function createStores(connection: Connection) {
  const stores = {
    orgs: organizationsModel(connection),
    workspaces: workspacesModel(connection),
    keys: apiKeysModel(connection),
    audit: auditModel(connection),
  };
  await Promise.all(Object.values(stores).map((store) => store.model.init()));
  return stores;
}
