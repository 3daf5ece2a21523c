import type { Publisher } from '@kb/bus';
import { DocumentEvent, eventSubject, meteringSubject, UsageEvent } from '@kb/contracts';
import type { ContextSigner } from '@kb/tenancy';
import pRetry from 'p-retry';
import { serviceCaller } from './caller.js';

type Tenant = { org: string; ws: string };
export type DocumentOutcome = 'ready' | 'failed' | 'deleted';
export type UsageMetric = 'documents' | 'bytes_ingested' | 'chunks_stored';

export interface DocumentEvents {
  /** `evt.document.<outcome>`, with `Nats-Msg-Id = eventId`: re-publishing after a crash is harmless. */
  document(
    tenant: Tenant,
    fields: {
      documentId: string;
      outcome: DocumentOutcome;
      chunks: number;
      error: string | null;
      eventId: string;
    },
  ): Promise<void>;
  /** Usage events; zero values are not sent. */
  usage(tenant: Tenant, items: { metric: UsageMetric; value: number; eventId: string }[]): Promise<void>;
}

/** JetStream publication of lifecycle and usage events, retried briefly (a restarting broker), then thrown. */
export function createDocumentEvents(publisher: Publisher, signer: ContextSigner): DocumentEvents {
  const publish = (fn: () => Promise<unknown>) =>
    pRetry(fn, { retries: 4, minTimeout: 250, factor: 2, maxTimeout: 2_000 });
  const caller = (tenant: Tenant, eventId: string) => serviceCaller(signer, tenant, eventId);
  return {
    async document(tenant, fields) {
      const body: DocumentEvent = {
        v: 1,
        event_id: fields.eventId,
        org_id: tenant.org,
        workspace_id: tenant.ws,
        occurred_at: new Date().toISOString(),
        document_id: fields.documentId,
        status: fields.outcome,
        chunks: fields.chunks,
        error: fields.error,
      };
      const subject = eventSubject({ org: tenant.org, ws: tenant.ws }, `document.${fields.outcome}`);
      await publish(() =>
        publisher.publish(subject, DocumentEvent, body, caller(tenant, fields.eventId), fields.eventId),
      );
    },
    async usage(tenant, items) {
      for (const item of items) {
        if (item.value === 0) continue;
        const body: UsageEvent = {
          v: 1,
          event_id: item.eventId,
          org_id: tenant.org,
          workspace_id: tenant.ws,
          occurred_at: new Date().toISOString(),
          metric: item.metric,
          value: item.value,
        };
        const subject = meteringSubject({ org: tenant.org, ws: tenant.ws }, item.metric);
        await publish(() =>
          publisher.publish(subject, UsageEvent, body, caller(tenant, item.eventId), item.eventId),
        );
      }
    },
  };
}
