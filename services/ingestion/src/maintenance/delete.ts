import type { PipelineDeps, Tenant } from '../pipeline/deps.js';
import { scopeOf } from '../store/documents.js';

/**
 * Removes a deleted document for good: its points (every version), its uploads, its events, its claims and
 * finally its record. Each step is idempotent, so the job may run again after a crash at any point.
 */
export async function removeDocument(deps: PipelineDeps, tenant: Tenant, documentId: string): Promise<void> {
  const scope = scopeOf(tenant);
  const docs = deps.stores.documents.in(scope);
  const record = await docs.findOne({ _id: documentId });
  if (record?.status !== 'deleting') return;
  await deps.vectors.removeDocument(tenant, documentId);
  const objects = new Set([
    record.object.name,
    ...(record.live_object ? [record.live_object] : []),
    ...record.retired_objects,
  ]);
  for (const name of objects) await deps.uploads.remove(name);
  const prefix = `doc:${documentId}:deleted`;
  await deps.events.document(tenant, {
    documentId,
    outcome: 'deleted',
    chunks: 0,
    error: null,
    eventId: prefix,
  });
  if (record.live_version !== null) {
    await deps.events.usage(tenant, [
      { metric: 'documents', value: -1, eventId: `${prefix}:documents` },
      { metric: 'chunks_stored', value: -record.chunks, eventId: `${prefix}:chunks_stored` },
    ]);
  }
  await deps.stores.claims.in(scope).deleteMany({ document_id: documentId });
  await docs.deleteOne({ _id: documentId, status: 'deleting' });
}

/**
 * Removes everything of a deleted workspace: a tombstone first (so nothing is written for it again), then
 * its collection, uploads, claims and records. Runs twice (again a minute later) to catch a job that was
 * mid-flight during the first pass.
 */
export async function purgeWorkspace(deps: PipelineDeps, tenant: Tenant): Promise<void> {
  const scope = scopeOf(tenant);
  const tombstones = deps.stores.tombstones.in(scope);
  if (!(await tombstones.findOne({ _id: tenant.ws }))) {
    try {
      await tombstones.create({ _id: tenant.ws, deleted_at: new Date() });
    } catch (error) {
      if ((error as { code?: unknown }).code !== 11000) throw error;
    }
  }
  deps.workspaces.remember(tenant);
  await deps.vectors.drop(tenant);
  const docs = deps.stores.documents.in(scope);
  for (;;) {
    const batch = await docs.find({}, { sort: { _id: 1 }, limit: 200 });
    if (batch.length === 0) break;
    for (const record of batch) {
      const objects = new Set([
        record.object.name,
        ...(record.live_object ? [record.live_object] : []),
        ...record.retired_objects,
      ]);
      for (const name of objects) await deps.uploads.remove(name);
    }
    await docs.deleteMany({ _id: { $in: batch.map((record) => record._id) } });
  }
  await deps.stores.claims.in(scope).deleteMany({});
  deps.log.info({ org_id: tenant.org, workspace_id: tenant.ws }, 'workspace purged');
}
