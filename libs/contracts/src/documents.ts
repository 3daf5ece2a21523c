import { type Static, Type } from '@sinclair/typebox';
import { DocumentId, ListOf, OrgId, Timestamp, WorkspaceId } from './common.js';

/**
 * Documents: the bodies of the `/v1/documents` routes (API.md), the ingestion service's operations and the
 * events it consumes. The gateway and the ingestion service validate with these same schemas.
 */

/** Content types the platform ingests; anything else is 415. */
export const CONTENT_TYPES = [
  'text/plain',
  'text/markdown',
  'text/html',
  'application/pdf',
  'application/json',
] as const;
export type ContentType = (typeof CONTENT_TYPES)[number];
export const ContentTypeSchema = Type.Union(CONTENT_TYPES.map((type) => Type.Literal(type)));

export const DOCUMENT_STATUSES = ['queued', 'processing', 'ready', 'failed', 'deleting'] as const;
export type DocumentStatus = (typeof DOCUMENT_STATUSES)[number];
export const DocumentStatusSchema = Type.Union(DOCUMENT_STATUSES.map((status) => Type.Literal(status)));

/** The NATS Object Store bucket holding uploads until their document is deleted. */
export const UPLOAD_BUCKET = 'kb-uploads';

/** Largest serialised metadata object, in bytes. */
export const MAX_METADATA_BYTES = 16_384;

/** Metadata keys: the same shape search filters accept, so every key stays filterable. */
export const DocumentMetadata = Type.Record(
  Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$' }),
  Type.Unknown(),
  {
    maxProperties: 64,
    additionalProperties: false,
    description: `free-form JSON object (at most ${MAX_METADATA_BYTES} bytes serialised)`,
  },
);

export const Title = Type.String({ minLength: 1, maxLength: 512 });
/** The client's own id for a document; uploading the same one again replaces the document's content. */
export const ExternalId = Type.String({ minLength: 1, maxLength: 256, pattern: '^[\\x21-\\x7e]+$' });
/** `Idempotency-Key` header: printable ASCII. */
export const IDEMPOTENCY_KEY_PATTERN = '^[\\x21-\\x7e]{1,255}$';

/** `POST /v1/documents` with a JSON body. */
export const CreateDocumentJson = Type.Object(
  {
    content: Type.String({ minLength: 1, description: 'the document text (UTF-8)' }),
    title: Type.Optional(Title),
    metadata: Type.Optional(DocumentMetadata),
    external_id: Type.Optional(ExternalId),
    content_type: Type.Optional(ContentTypeSchema),
  },
  { additionalProperties: false },
);
export type CreateDocumentJson = Static<typeof CreateDocumentJson>;

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

/** A document as clients see it. `version` grows by one each time the same `external_id` is uploaded again. */
export const Document = Type.Object({
  id: DocumentId,
  status: DocumentStatusSchema,
  title: Nullable(Type.String()),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  external_id: Nullable(Type.String()),
  content_type: Type.String(),
  bytes: Type.Integer({ minimum: 0 }),
  chunks: Type.Integer({ minimum: 0 }),
  content_hash: Type.String({ description: 'SHA-256 of the uploaded bytes, hex' }),
  error: Nullable(Type.String()),
  version: Type.Integer({ minimum: 1 }),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Document = Static<typeof Document>;

export const DocumentList = ListOf(Document);
export type DocumentList = Static<typeof DocumentList>;

export const DocumentAccepted = Type.Object({ id: DocumentId, status: DocumentStatusSchema });

export const DocumentListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ maxLength: 512, pattern: '^[A-Za-z0-9_-]+$' })),
    status: Type.Optional(DocumentStatusSchema),
    external_id: Type.Optional(ExternalId),
  },
  { additionalProperties: false },
);
export type DocumentListQuery = Static<typeof DocumentListQuery>;

export const DocumentIdRequest = Type.Object({ document_id: DocumentId }, { additionalProperties: false });

/** Gateway → ingestion: an upload already in the object store, to be recorded (or matched to an existing one). */
export const CreateDocumentRequest = Type.Object(
  {
    object: Type.Object({
      bucket: Type.String({ minLength: 1, maxLength: 64 }),
      name: Type.String({ minLength: 1, maxLength: 256 }),
      bytes: Type.Integer({ minimum: 1 }),
    }),
    content_type: ContentTypeSchema,
    content_hash: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    title: Type.Union([Title, Type.Null()]),
    metadata: DocumentMetadata,
    external_id: Type.Union([ExternalId, Type.Null()]),
    idempotency_key: Type.Union([Type.String({ pattern: IDEMPOTENCY_KEY_PATTERN }), Type.Null()]),
  },
  { additionalProperties: false },
);
export type CreateDocumentRequest = Static<typeof CreateDocumentRequest>;

/** `created: false` when the idempotency key or the identical content already named a document. */
export const CreateDocumentResponse = Type.Object({ created: Type.Boolean(), document: Document });
export type CreateDocumentResponse = Static<typeof CreateDocumentResponse>;

/**
 * `kb.<org>.<ws>.evt.workspace.deleted` on KB_EVENTS, published by the tenant service when a workspace is
 * deleted; the ingestion service then drops the workspace's collection, uploads and records.
 */
export const WorkspaceDeleted = Type.Object({
  v: Type.Literal(1),
  event_id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' }),
  org_id: OrgId,
  workspace_id: WorkspaceId,
  occurred_at: Timestamp,
});
export type WorkspaceDeleted = Static<typeof WorkspaceDeleted>;
