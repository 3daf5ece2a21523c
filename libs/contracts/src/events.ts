import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { DocumentId, OrgId, Timestamp, WorkspaceId } from './common.js';

/**
 * JetStream messages. Every event carries a version literal and an `event_id`, which is also its
 * `Nats-Msg-Id`, so re-publication and redelivery are idempotent.
 */
const EventBase = {
  v: Type.Literal(1),
  event_id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' }),
  org_id: OrgId,
  workspace_id: WorkspaceId,
  occurred_at: Timestamp,
};

export const IngestRequested = Type.Object({
  ...EventBase,
  document_id: DocumentId,
  object: Type.Object({ bucket: Type.String(), name: Type.String(), bytes: Type.Integer({ minimum: 0 }) }),
  content_type: Type.String(),
  content_hash: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  title: Type.Union([Type.String({ maxLength: 512 }), Type.Null()]),
  external_id: Type.Union([Type.String({ maxLength: 256 }), Type.Null()]),
  metadata: Type.Record(Type.String(), Type.Unknown()),
});
export type IngestRequested = Static<typeof IngestRequested>;

/** The `event_id` (and `Nats-Msg-Id`) of `ingest.requested` for one version of a document. */
export const ingestRequestedId = (documentId: string, version: number): string =>
  `ingest:${documentId}:v${version}`;

/** The version an `ingest.requested` event id names for `documentId`, or null for any other id. */
export function ingestRequestedVersion(eventId: string, documentId: string): number | null {
  const prefix = `ingest:${documentId}:v`;
  if (!eventId.startsWith(prefix)) return null;
  const digits = eventId.slice(prefix.length);
  return /^[1-9][0-9]{0,8}$/.test(digits) ? Number(digits) : null;
}

export const DocumentEvent = Type.Object({
  ...EventBase,
  document_id: DocumentId,
  status: Type.Union([Type.Literal('ready'), Type.Literal('failed'), Type.Literal('deleted')]),
  chunks: Type.Integer({ minimum: 0 }),
  error: Type.Union([Type.String(), Type.Null()]),
});
export type DocumentEvent = Static<typeof DocumentEvent>;

export const USAGE_METRICS = [
  'api_calls',
  'documents',
  'bytes_ingested',
  'chunks_stored',
  'searches',
] as const;

/** Most requests one `api_calls` event describes in `activity` (errors are kept before successes). */
export const ACTIVITY_PER_EVENT_MAX = 20;

/** One request the gateway answered, as operators see it in an organization's activity. */
export const RequestActivity = Type.Object({
  /** When the request arrived. */
  at: Timestamp,
  /** Method and route pattern, e.g. `POST /v1/search`. */
  route: Type.String({ minLength: 1, maxLength: 256 }),
  status: Type.Integer({ minimum: 100, maximum: 599 }),
  duration_ms: Type.Number({ minimum: 0 }),
  /** The W3C trace id of the request (its `traceparent`), when it had one. */
  trace_id: Type.Union([Type.String({ pattern: '^[0-9a-f]{32}$' }), Type.Null()]),
  request_id: Type.String({ minLength: 1, maxLength: 128 }),
});
export type RequestActivity = Static<typeof RequestActivity>;

export const UsageEvent = Type.Object({
  ...EventBase,
  metric: Type.Union(USAGE_METRICS.map((metric) => Type.Literal(metric))),
  value: Type.Number(),
  /**
   * `api_calls` events from the gateway: the requests they count (and those refused with 429, which they do
   * not), at most ACTIVITY_PER_EVENT_MAX of them; they feed the operator's activity list.
   */
  activity: Type.Optional(Type.Array(RequestActivity, { maxItems: ACTIVITY_PER_EVENT_MAX })),
});
export type UsageEvent = Static<typeof UsageEvent>;

export const EVENTS = {
  'ingest.requested': IngestRequested,
  'evt.document.ready': DocumentEvent,
  'evt.document.failed': DocumentEvent,
  'evt.document.deleted': DocumentEvent,
  usage: UsageEvent,
} as const satisfies Record<string, TSchema>;
