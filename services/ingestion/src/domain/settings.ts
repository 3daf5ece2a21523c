import type { Requester } from '@kb/bus';
import { DEFAULT_WORKSPACE_SETTINGS, type WorkspaceSettings } from '@kb/contracts';
import type { ContextSigner } from '@kb/tenancy';
import { serviceCaller } from './caller.js';

export interface WorkspaceSettingsSource {
  /** The workspace's settings (chunking, limit overrides); throws not-found for a deleted workspace. */
  get(tenant: { org: string; ws: string }, rid: string): Promise<WorkspaceSettings>;
}

/**
 * Workspace settings from the tenant service (which owns them), cached briefly: chunking is read once per
 * upload and frozen into the document's record, so a short staleness only affects the next uploads.
 */
export function createSettingsSource(
  request: Requester,
  signer: ContextSigner,
  ttlMs = 10_000,
): WorkspaceSettingsSource {
  const cache = new Map<string, { settings: WorkspaceSettings; at: number }>();
  return {
    async get(tenant, rid) {
      const hit = cache.get(tenant.ws);
      if (hit && Date.now() - hit.at < ttlMs) return hit.settings;
      // The tenant service answers workspace reads to organization admins; this context names exactly one
      // workspace of the tenant whose verified request is being handled.
      const workspace = await request(
        'tenant.workspace.get',
        serviceCaller(signer, tenant, rid, ['org:admin']),
        {},
      );
      const settings = { ...DEFAULT_WORKSPACE_SETTINGS, ...workspace.settings };
      if (cache.size > 10_000) cache.clear();
      cache.set(tenant.ws, { settings, at: Date.now() });
      return settings;
    },
  };
}
