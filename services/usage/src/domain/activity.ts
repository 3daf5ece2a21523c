import type {
  ActivityItem,
  ActivityList,
  DocumentEvent,
  IngestRequested,
  ListQuery,
  UsageEvent,
} from '@kb/contracts';
import { invalid } from '@kb/errors';
import type { Logger } from '@kb/log';
import { unscoped } from '@kb/store';
import type { ActivityDoc, UsageStores } from '../store/index.js';
import { isDuplicateKey } from '../store/index.js';
import { createSerializer } from './serial.js';

/** How long activity is kept: operators look at recent work; usage itself lives in the rollups. */
export const ACTIVITY_KEPT_MS = 3 * 24 * 3_600_000;

/** Where a message came from: its trace (from `traceparent`) and the request id of its context. */
export interface Origin {
  traceId: string | null;
  requestId: string | null;
}

/**
 * The operator's activity list (`usage.activity.list`): requests from the gateway's `api_calls` events,
 * ingestion jobs from `ingest.requested` (accepted: when, by which request, in which trace) and the
 * document's outcome (`evt.document.ready|failed`), paired per document version, and deletions. Writes are
 * idempotent: a redelivered message rewrites the same document with the same values.
 */
export function createActivity(stores: UsageStores, log: Logger) {
  // Acceptance and outcome of one job may arrive together from two consumers; FerretDB needs them in turn.
  const serially = createSerializer();

  // A new job is inserted and a known one updated by its id alone: an upsert's filter names the organization
  // too, and FerretDB v1 answers such a filter by reading the whole collection. `likelyNew`: the job is
  // usually not stored yet (its acceptance arrives first), so it is inserted without a read, and merged
  // with what is there only when the insert finds it. Callers hold the job's turn (`serially`).
  async function mergeJobInTurn(
    org: string,
    id: string,
    merge: (before: ActivityDoc | null) => ActivityDoc,
    likelyNew = false,
  ) {
    const repo = stores.activity.in({ org_id: org });
    if (likelyNew) {
      const { _id, org_id, ...fields } = merge(null);
      try {
        await repo.create({ _id, ...fields });
        return;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
    }
    for (let attempt = 0; ; attempt += 1) {
      const before = await repo.findOne({ _id: id });
      const { _id, org_id, ...fields } = merge(before);
      if (before) {
        await repo.updateOne({ _id }, { $set: fields });
        return;
      }
      try {
        await repo.create({ _id, ...fields });
        return;
      } catch (error) {
        // Another instance of the service stored the job first: merge into what it stored.
        if (!isDuplicateKey(error) || attempt > 0) throw error;
      }
    }
  }

  return {
    /** Stores the requests an `api_calls` event describes. */
    async requests(event: UsageEvent): Promise<void> {
      const docs: ActivityDoc[] = (event.activity ?? []).map((request, index) => ({
        _id: `${event.workspace_id}/${event.event_id}/${index}`,
        org_id: event.org_id,
        workspace_id: event.workspace_id,
        kind: 'request',
        at: new Date(request.at),
        route: request.route,
        job: null,
        document_id: null,
        status: request.status,
        duration_ms: request.duration_ms,
        accepted_at: null,
        finished_at: null,
        trace_id: request.trace_id,
        request_id: request.request_id,
        error: null,
      }));
      if (docs.length === 0) return;
      try {
        await stores.activity.model.insertMany(docs, { ordered: false });
      } catch (error) {
        // A redelivery: the documents that were stored before are refused by their ids, the rest stored.
        if (!onlyDuplicates(error)) throw error;
      }
    },

    /** A document accepted for ingestion: the job starts, in the uploading request's trace. */
    async accepted(event: IngestRequested, origin: Origin): Promise<void> {
      const acceptedAt = new Date(event.occurred_at);
      const id = jobId(event.workspace_id, event.document_id, event.event_id);
      await serially(id, () =>
        mergeJobInTurn(
          event.org_id,
          id,
          (before) => ({
            ...(before ?? newJob(event.org_id, event.workspace_id, event.document_id, 'ingest')),
            _id: id,
            at: acceptedAt,
            accepted_at: acceptedAt,
            status: before?.status ?? 'queued',
            trace_id: origin.traceId ?? before?.trace_id ?? null,
            request_id: origin.requestId,
          }),
          true,
        ),
      );
    },

    /** A document's outcome: ends its ingestion job, or records its deletion. */
    async settled(event: DocumentEvent, origin: Origin): Promise<void> {
      const finishedAt = new Date(event.occurred_at);
      const deletion = event.status === 'deleted';
      const id = deletion
        ? `${event.workspace_id}/delete/${event.document_id}`
        : jobId(event.workspace_id, event.document_id, event.event_id);
      const outcome = { finished_at: finishedAt, status: event.status, error: event.error };
      await serially(id, async () => {
        const repo = stores.activity.in({ org_id: event.org_id });
        // Usually the acceptance is stored: the outcome goes into it in one update that answers with what was
        // there (its acceptance time stays the sort key), and the trace only when the acceptance had none.
        const before = await repo.findOneAndUpdate(
          { _id: id },
          { $set: outcome },
          { returnDocument: 'before' },
        );
        if (before) {
          if (before.trace_id === null && origin.traceId)
            await repo.updateOne({ _id: id }, { $set: { trace_id: origin.traceId } });
          return;
        }
        // The outcome before its acceptance (or a deletion): the job is stored from the outcome, merged with
        // the acceptance only if another instance stored it meanwhile.
        await mergeJobInTurn(
          event.org_id,
          id,
          (stored) => {
            const job =
              stored ??
              newJob(event.org_id, event.workspace_id, event.document_id, deletion ? 'delete' : 'ingest');
            return {
              ...job,
              ...outcome,
              _id: id,
              at: job.accepted_at ?? finishedAt,
              trace_id: job.trace_id ?? origin.traceId,
            };
          },
          true,
        );
      });
    },

    /** The organization's activity, newest first, a page at a time. */
    async list(org: string, query: ListQuery): Promise<ActivityList> {
      const after = query.cursor === undefined ? null : decodeCursor(query.cursor);
      const filter = after
        ? { $or: [{ at: { $lt: after.at } }, { at: after.at, _id: { $lt: after.id } }] }
        : {};
      const docs = await stores.activity
        .in({ org_id: org })
        .find(filter, { sort: { at: -1, _id: -1 }, limit: query.limit + 1 });
      const page = docs.slice(0, query.limit);
      const last = page[page.length - 1];
      return {
        items: page.map(toItem),
        next_cursor: docs.length > query.limit && last ? encodeCursor(last) : null,
      };
    },

    /** Forgets activity older than ACTIVITY_KEPT_MS (FerretDB has no TTL indexes). */
    async prune(): Promise<void> {
      const before = new Date(Date.now() - ACTIVITY_KEPT_MS);
      const query = stores.activity.model.deleteMany({ at: { $lt: before } });
      const { deletedCount } = await unscoped('prune the activity of every tenant by age', query).exec();
      if (deletedCount > 0) log.info({ deleted: deletedCount }, 'pruned activity');
    },
  };
}

export type Activity = ReturnType<typeof createActivity>;

/**
 * An ingestion job is one version of one document. The producers derive their event ids from both
 * (`ingest:<doc>:v<n>`, `doc:<doc>:v<n>:<outcome>`); without a version the job is keyed by the event.
 */
function jobId(ws: string, documentId: string, eventId: string): string {
  const version = /:v(\d+)(?::|$)/.exec(eventId)?.[1];
  return version ? `${ws}/ingest/${documentId}/${version}` : `${ws}/ingest/${documentId}/${eventId}`;
}

function newJob(org: string, ws: string, documentId: string, job: string): ActivityDoc {
  return {
    _id: '',
    org_id: org,
    workspace_id: ws,
    kind: 'job',
    at: new Date(0),
    route: null,
    job,
    document_id: documentId,
    status: 'queued',
    duration_ms: null,
    accepted_at: null,
    finished_at: null,
    trace_id: null,
    request_id: null,
    error: null,
  };
}

function toItem(doc: ActivityDoc): ActivityItem {
  const jobDuration =
    doc.accepted_at && doc.finished_at
      ? Math.max(0, new Date(doc.finished_at).getTime() - new Date(doc.accepted_at).getTime())
      : null;
  return {
    time: new Date(doc.at).toISOString(),
    kind: doc.kind,
    workspace_id: doc.workspace_id,
    route: doc.route,
    job: doc.job,
    document_id: doc.document_id,
    status: doc.status as ActivityItem['status'],
    duration_ms: doc.kind === 'request' ? doc.duration_ms : jobDuration,
    trace_id: doc.trace_id,
    request_id: doc.request_id,
    error: doc.error,
  };
}

const encodeCursor = (doc: ActivityDoc) =>
  Buffer.from(JSON.stringify([new Date(doc.at).getTime(), doc._id])).toString('base64url');

function decodeCursor(cursor: string): { at: Date; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof at === 'number' && Number.isFinite(at) && typeof id === 'string')
      return { at: new Date(at), id };
  } catch {
    // answered below
  }
  throw invalid('query.cursor: is not a cursor this list gave out');
}

/** A bulk insert refused only because some documents were there already. */
function onlyDuplicates(error: unknown): boolean {
  if (isDuplicateKey(error) && !(error as { writeErrors?: unknown }).writeErrors) return true;
  const writeErrors = (error as { writeErrors?: { code?: number; err?: { code?: number } }[] }).writeErrors;
  return (
    Array.isArray(writeErrors) &&
    writeErrors.length > 0 &&
    writeErrors.every((item) => (item.code ?? item.err?.code) === 11000)
  );
}
