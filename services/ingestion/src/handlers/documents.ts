import { notFound } from '@kb/errors';
import { isId } from '@kb/tenancy';
import { storedStatuses, toDocument } from '../domain/views.js';
import { scopeOf } from '../store/documents.js';
import { createDocument } from './create.js';
import type { HandlerDeps, IngestionHandlers } from './deps.js';

type DocumentHandlers = Omit<IngestionHandlers, 'ingestion.status'>;

const encodeCursor = (id: string) => Buffer.from(id).toString('base64url');
function decodeCursor(cursor: string | undefined): string | null {
  if (!cursor) return null;
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  return isId(id, 'document') ? id : null;
}

/** The document operations; the tenant is the verified context's, never the request's. */
export function documentHandlers(deps: HandlerDeps): DocumentHandlers {
  return {
    'ingestion.document.create': (request, ctx) => createDocument(deps, request, ctx),

    async 'ingestion.document.get'({ document_id }, { tenant }) {
      const doc = await deps.stores.documents.in(scopeOf(tenant)).findOne({ _id: document_id });
      if (!doc) throw notFound('document not found');
      return toDocument(doc);
    },

    async 'ingestion.document.list'(query, { tenant }) {
      const after = decodeCursor(query.cursor);
      const filter: Record<string, unknown> = {};
      if (after) filter._id = { $gt: after };
      if (query.status) filter.status = { $in: storedStatuses(query.status) };
      if (query.external_id) filter.external_id = query.external_id;
      const rows = await deps.stores.documents
        .in(scopeOf(tenant))
        .find(filter, { sort: { _id: 1 }, limit: query.limit + 1 });
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      return {
        items: page.map(toDocument),
        next_cursor: rows.length > query.limit && last ? encodeCursor(last._id) : null,
      };
    },

    async 'ingestion.document.delete'({ document_id }, { tenant, log }) {
      const docs = deps.stores.documents.in(scopeOf(tenant));
      const now = new Date();
      const doc =
        (await docs.findOneAndUpdate(
          { _id: document_id, status: { $ne: 'deleting' } },
          { $set: { status: 'deleting', updated_at: now } },
        )) ?? (await docs.findOne({ _id: document_id }));
      if (!doc) throw notFound('document not found');
      // Out of search results before the answer; if this fails the caller gets 503 and may retry the delete.
      await deps.vectors.hide(tenant, document_id);
      try {
        await deps.queues.addMaintenance({
          kind: 'delete-document',
          org: tenant.org,
          ws: tenant.ws,
          documentId: document_id,
        });
      } catch (error) {
        // The document is already hidden; the sweeper schedules the removal once Redis answers again.
        log.warn({ err: error, document_id }, 'deletion not scheduled yet');
      }
      return toDocument(doc);
    },
  };
}
