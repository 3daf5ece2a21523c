import { type DocumentDoc, scopeOf } from '../store/documents.js';
import type { PipelineDeps, Tenant } from './deps.js';

/**
 * Makes a fully written version live. Ordered so that a search never sees both versions or neither, and
 * so that every step can be repeated after a crash:
 *  1. one payload update makes the version's points live (a deleted document's points stay hidden);
 *  2. the record takes the version as live (chunks, usage, the superseded upload to delete);
 *  3. the older versions' points are deleted (until then both are live; search keeps the highest version),
 *     so that once the record is `ready` no search finds what only an older version said;
 *  4. unless a newer version was accepted meanwhile, the record becomes `ready`;
 *  5. superseded uploads are deleted and the events published, with ids derived from the version.
 */
export async function finalizeVersion(
  deps: PipelineDeps,
  tenant: Tenant,
  record: DocumentDoc,
): Promise<void> {
  const pending = record.pending;
  if (!pending) throw new Error(`document ${record._id} is finalizing without pending counts`);
  const { version } = pending;
  const docs = deps.stores.documents.in(scopeOf(tenant));
  await deps.vectors.activate(tenant, record._id, version);

  const now = new Date();
  const before = await docs.findOneAndUpdate(
    {
      _id: record._id,
      status: { $ne: 'deleting' },
      $or: [{ live_version: null }, { live_version: { $lt: version } }],
    },
    {
      $set: {
        live_version: version,
        chunks: pending.chunks,
        live_object: pending.object,
        title: pending.title,
        ready_at: now,
        updated_at: now,
      },
    },
    { returnDocument: 'before' },
  );
  if (before) {
    const first = before.live_version === null;
    const usage = {
      version,
      documents: first ? 1 : 0,
      chunks: pending.chunks - (first ? 0 : before.chunks),
      bytes: pending.bytes,
    };
    const retired = before.live_object && before.live_object !== pending.object ? [before.live_object] : [];
    await docs.updateOne(
      { _id: record._id },
      { $set: { usage }, ...(retired.length ? { $addToSet: { retired_objects: { $each: retired } } } : {}) },
    );
  }
  await deps.vectors.removeOlder(tenant, record._id, version);
  await docs.updateOne(
    { _id: record._id, version, status: 'finalizing' },
    { $set: { status: 'ready', error: null, pending: null, updated_at: now } },
  );
  const current = await docs.findOne({ _id: record._id });
  if (!current || current.status === 'deleting' || current.live_version !== version) return;
  await announceLive(deps, tenant, current);
}

/** Steps 3 and 5 of `finalizeVersion` for the live version: idempotent, safe to repeat. */
export async function announceLive(deps: PipelineDeps, tenant: Tenant, record: DocumentDoc): Promise<void> {
  const version = record.live_version;
  if (version === null) return;
  await deps.vectors.removeOlder(tenant, record._id, version);
  for (const name of record.retired_objects) {
    await deps.uploads.remove(name);
    await deps.stores.documents
      .in(scopeOf(tenant))
      .updateOne({ _id: record._id }, { $pull: { retired_objects: name } });
  }
  const prefix = `doc:${record._id}:v${version}`;
  await deps.events.document(tenant, {
    documentId: record._id,
    outcome: 'ready',
    chunks: record.chunks,
    error: null,
    eventId: `${prefix}:ready`,
  });
  const usage = record.usage?.version === version ? record.usage : null;
  if (usage) {
    await deps.events.usage(tenant, [
      { metric: 'documents', value: usage.documents, eventId: `${prefix}:documents` },
      { metric: 'bytes_ingested', value: usage.bytes, eventId: `${prefix}:bytes_ingested` },
      { metric: 'chunks_stored', value: usage.chunks, eventId: `${prefix}:chunks_stored` },
    ]);
  }
}
