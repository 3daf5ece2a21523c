import type { UpdateQuery } from 'mongoose';
import { type DocumentDoc, scopeOf } from '../store/documents.js';
import type { PipelineDeps, Tenant } from './deps.js';

export type Outcome = 'ready' | 'gone' | 'superseded' | 'failed-before';

/** A version whose points are all written (hidden): what its record takes when it goes live. */
export interface WrittenVersion {
  version: number;
  chunks: number;
  title: string | null;
  bytes: number;
  /** Its upload. */
  object: string;
}

/** Attempts at the record's compare-and-set before the job is retried (the record kept changing). */
const SWAP_ATTEMPTS = 5;

/**
 * Makes a fully written version live. Ordered so that a search never sees both versions or neither, and
 * so that every step can be repeated after a crash (the job runs again from the start):
 *  1. `activate` (the caller): one payload update makes the version's points live, except those of a
 *     deleted document (a deletion hides every point, before or after this);
 *  2. once the record, as read, lets the version go live: the older versions' points are deleted (until
 *     then both are live and search keeps the highest version), so that once the record is `ready` no
 *     search finds what only an older version said;
 *  3. one compare-and-set on the record, against the status, version and live version it was read with:
 *     it takes the version as live (chunks, usage, the superseded upload to delete) and becomes `ready`,
 *     unless a newer version was accepted meanwhile (that one keeps its status). A record that changed is
 *     read again and decided afresh (from step 2); a version that may not go live (deleted, failed, or
 *     behind a newer live one) has its points removed again;
 *  4. `announceLive`: superseded uploads deleted, and the events published with ids from the version.
 * Step 2 before 3 costs nothing when the swap fails for a deletion (every point goes) or a newer live
 * version (the older ones were not live). It would cost the previous version's points if this version
 * were marked failed in between, which only a second run of the same job can do (one job per version).
 */
export async function goLive(
  deps: PipelineDeps,
  tenant: Tenant,
  record: DocumentDoc,
  written: WrittenVersion,
): Promise<Outcome> {
  const docs = deps.stores.documents.in(scopeOf(tenant));
  let current: DocumentDoc | null = record;
  for (let attempt = 0; attempt < SWAP_ATTEMPTS; attempt++) {
    const plan: Plan = current ? planLive(current, written, new Date()) : { outcome: 'gone' };
    if ('outcome' in plan) {
      if (plan.outcome === 'ready' && current) await announceLive(deps, tenant, current);
      else await deps.vectors.removeVersion(tenant, record._id, written.version);
      return plan.outcome;
    }
    // Again on every attempt: an older version's job may have made its points live meanwhile.
    await deps.vectors.removeOlder(tenant, record._id, written.version);
    const expected = current as DocumentDoc;
    const after = await docs.findOneAndUpdate(
      {
        _id: record._id,
        status: expected.status,
        version: expected.version,
        live_version: expected.live_version,
      },
      plan.update,
    );
    if (after) {
      await announceLive(deps, tenant, after, { olderRemoved: true });
      return 'ready';
    }
    current = await docs.findOne({ _id: record._id });
  }
  throw new Error(`document ${record._id} kept changing while version ${written.version} was made live`);
}

type Plan = { update: UpdateQuery<DocumentDoc> } | { outcome: Outcome };

/** What taking `written` live means for the record as it is now, or why it may not. */
function planLive(current: DocumentDoc, written: WrittenVersion, now: Date): Plan {
  if (current.status === 'deleting') return { outcome: 'gone' };
  if (current.live_version !== null && current.live_version >= written.version) {
    return { outcome: current.live_version === written.version ? 'ready' : 'superseded' };
  }
  const own = current.version === written.version;
  if (own && current.status === 'failed') return { outcome: 'failed-before' };
  const first = current.live_version === null;
  const usage = {
    version: written.version,
    documents: first ? 1 : 0,
    chunks: written.chunks - (first ? 0 : current.chunks),
    bytes: written.bytes,
  };
  const retired = current.live_object && current.live_object !== written.object ? [current.live_object] : [];
  return {
    update: {
      $set: {
        live_version: written.version,
        chunks: written.chunks,
        live_object: written.object,
        title: written.title,
        usage,
        ready_at: now,
        updated_at: now,
        // The status belongs to the newest version: a newer upload accepted meanwhile keeps its own.
        ...(own ? { status: 'ready' as const, error: null, pending: null } : {}),
      },
      ...(retired.length > 0 ? { $addToSet: { retired_objects: { $each: retired } } } : {}),
    },
  };
}

/**
 * Steps 2 and 4 of `goLive` for the live version: idempotent, safe to repeat. `olderRemoved` skips step 2
 * when the caller has just taken it.
 */
export async function announceLive(
  deps: PipelineDeps,
  tenant: Tenant,
  record: DocumentDoc,
  options: { olderRemoved?: boolean } = {},
): Promise<void> {
  const version = record.live_version;
  if (version === null || record.status === 'deleting') return;
  if (!options.olderRemoved) await deps.vectors.removeOlder(tenant, record._id, version);
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
