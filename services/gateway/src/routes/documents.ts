import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Publisher } from '@kb/bus';
import {
  type ContentType,
  CreateDocumentJson,
  Document,
  DocumentAccepted,
  DocumentId,
  DocumentList,
  DocumentListQuery,
  DocumentMetadata,
  ExternalId,
  effectiveLimits,
  IDEMPOTENCY_KEY_PATTERN,
  IngestRequested,
  ingestRequestedId,
  ingestRequestedSubject,
  PLAN_NAMES,
  type PlanName,
  parse,
  Title,
} from '@kb/contracts';
import { AppError, invalid, isAppError } from '@kb/errors';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { ResolveCredential } from '../auth/plugin.js';
import type { WorkspacePrincipal } from '../auth/principal.js';
import { resolveContentType } from '../documents/content-type.js';
import { type Received, receiveMultipart, storeStream } from '../documents/receive.js';
import type { UploadStore } from '../documents/store.js';
import { inRequestSpan } from '../plugins/tracing.js';
import { assertQuota, BEARER_AUTH, call, problems, type RouteDeps } from './deps.js';

export interface DocumentRouteDeps extends RouteDeps {
  uploads: UploadStore;
  publisher: Publisher;
  /** Resolves the credential before the body is read, so limits apply (and strangers stop) before any upload. */
  resolve: ResolveCredential;
  /** Largest JSON upload body; multipart uploads stream and are limited by the plan alone. */
  jsonBodyLimit: number;
}

const DocumentParams = Type.Object({ doc_id: DocumentId });
const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ pattern: IDEMPOTENCY_KEY_PATTERN })),
});
/**
 * Documentation only: multipart bodies stream through the handler and are checked field by field there.
 * Fastify validates a streamed body as `null`, which `nullable` lets through; `type` keeps Ajv's strict mode
 * from warning at start.
 */
const MultipartBody = {
  type: 'object',
  nullable: true,
  description:
    'a `file` part, and optional `metadata` (JSON object as text), `title`, `external_id`, `content_type`',
  properties: {
    file: { type: 'string', format: 'binary' },
    metadata: { type: 'string' },
    title: { type: 'string' },
    external_id: { type: 'string' },
    content_type: { type: 'string' },
  },
};
/** Multipart framing and text fields on top of the file itself. */
const MULTIPART_SLACK = 64 * 1024;

function uploadLimit(principal: WorkspacePrincipal): number {
  const plan = (PLAN_NAMES as readonly string[]).includes(principal.plan)
    ? (principal.plan as PlanName)
    : 'free';
  return effectiveLimits(plan).upload_bytes;
}

/** Workspace document routes (API.md): upload, list, read, delete. The workspace is the credential's. */
export function documentRoutes(deps: DocumentRouteDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    await app.register(multipart);

    app.post(
      '/v1/documents',
      {
        bodyLimit: deps.jsonBodyLimit,
        // Authenticate before the body is read: no upload is streamed for a stranger or past the plan's limit.
        onRequest: async (request) => {
          request.principal = await inRequestSpan(request, () =>
            deps.resolve(request.headers.authorization, request.id),
          );
          const principal = deps.access.workspace(request, 'documents:write');
          const declared = Number(request.headers['content-length'] ?? Number.NaN);
          const limit = uploadLimit(principal);
          const isJson = (request.headers['content-type'] ?? '').startsWith('application/json');
          if (
            Number.isFinite(declared) &&
            declared > (isJson ? deps.jsonBodyLimit : limit + MULTIPART_SLACK)
          ) {
            throw tooLarge(limit);
          }
        },
        schema: {
          tags: ['documents'],
          summary: 'Upload a document for asynchronous ingestion',
          description:
            'JSON `{content, title?, metadata?, external_id?, content_type?}` or multipart/form-data with a `file` part. ' +
            'The same `Idempotency-Key` or identical content answers 200 with the existing document; an existing ' +
            "`external_id` with new content queues the document's next version. 413 beyond the plan's upload limit, " +
            '415 for other types or content contradicting the declared type.',
          security: BEARER_AUTH,
          headers: IdempotencyHeaders,
          body: {
            content: {
              'application/json': { schema: CreateDocumentJson },
              'multipart/form-data': { schema: MultipartBody },
            },
          },
          response: {
            200: Document,
            202: DocumentAccepted,
            ...problems(400, 401, 403, 404, 409, 413, 415, 429, 503),
          },
        },
      },
      async (request, reply) => {
        const principal = deps.access.workspace(request, 'documents:write');
        const caller = deps.access.caller(request, principal, principal.org, principal.ws);
        const limit = uploadLimit(principal);
        const name = `${principal.org}/${principal.ws}/${randomUUID()}`;
        await assertQuota(deps, request, caller, 'documents', 1);
        const upload = request.isMultipart()
          ? await receiveMultipart(request, deps.uploads, name, limit)
          : await receiveJson(request, deps.uploads, name, limit);
        let recorded: Awaited<ReturnType<typeof record>>;
        try {
          recorded = await record(request, upload, name);
        } catch (error) {
          // A refusal (4xx) recorded nothing. After a timeout or an outage the record may exist and name this
          // object (the client's retry with the same key then finds it), so the object stays.
          if (isAppError(error) && error.status < 500) await deps.uploads.remove(name).catch(() => undefined);
          throw error;
        }
        const { created, document, contentType } = recorded;
        if (!created) {
          await deps.uploads.remove(name).catch(() => undefined);
          return reply.code(200).send(document);
        }
        // The document is recorded: if this publication fails the client gets 503, and the ingestion
        // service's sweeper queues the document anyway (a retry with the same key or content answers 200).
        const eventId = ingestRequestedId(document.id, document.version);
        await inRequestSpan(request, () =>
          deps.publisher.publish(
            ingestRequestedSubject({ org: principal.org, ws: principal.ws }),
            IngestRequested,
            {
              v: 1,
              event_id: eventId,
              org_id: principal.org,
              workspace_id: principal.ws,
              occurred_at: new Date().toISOString(),
              document_id: document.id,
              object: { bucket: deps.uploads.bucket, name, bytes: upload.bytes },
              content_type: contentType,
              content_hash: upload.hash,
              title: document.title,
              external_id: document.external_id,
              metadata: document.metadata,
            },
            caller,
            eventId,
          ),
        );
        return reply.code(202).send({ id: document.id, status: document.status });

        /** Checks the upload's fields and type, then has the ingestion service record (or match) it. */
        async function record(req: FastifyRequest, received: Received, objectName: string) {
          if (received.bytes === 0) throw invalid('body.file: the file is empty');
          await assertQuota(deps, req, caller, 'storage_bytes', received.bytes);
          const fields = checkFields(received);
          const type: ContentType = await resolveContentType(
            fields.content_type ? { type: fields.content_type, filename: null } : received.declared,
            received.observed,
          );
          const answer = await call(deps, req, 'ingestion.document.create', caller, {
            object: { bucket: deps.uploads.bucket, name: objectName, bytes: received.bytes },
            content_type: type,
            content_hash: received.hash,
            title: fields.title ?? null,
            metadata: fields.metadata ?? {},
            external_id: fields.external_id ?? null,
            idempotency_key: (req.headers['idempotency-key'] as string | undefined) ?? null,
          });
          return { ...answer, contentType: type };
        }
      },
    );

    app.get(
      '/v1/documents',
      {
        schema: {
          tags: ['documents'],
          summary: "List the workspace's documents (oldest first), optionally by status or external id",
          security: BEARER_AUTH,
          querystring: DocumentListQuery,
          response: { 200: DocumentList, ...problems(400, 401, 403, 429, 503) },
        },
      },
      async (request) => {
        const principal = deps.access.workspace(request, 'documents:read');
        const caller = deps.access.caller(request, principal, principal.org, principal.ws);
        return call(deps, request, 'ingestion.document.list', caller, request.query);
      },
    );

    app.get(
      '/v1/documents/:doc_id',
      {
        schema: {
          tags: ['documents'],
          summary: 'Get a document and its ingestion status',
          security: BEARER_AUTH,
          params: DocumentParams,
          response: { 200: Document, ...problems(400, 401, 403, 404, 429, 503) },
        },
      },
      async (request) => {
        const principal = deps.access.workspace(request, 'documents:read');
        const caller = deps.access.caller(request, principal, principal.org, principal.ws);
        return call(deps, request, 'ingestion.document.get', caller, { document_id: request.params.doc_id });
      },
    );

    app.delete(
      '/v1/documents/:doc_id',
      {
        schema: {
          tags: ['documents'],
          summary: 'Delete a document: it leaves search results before the answer; the rest follows',
          security: BEARER_AUTH,
          params: DocumentParams,
          response: { 202: Document, ...problems(400, 401, 403, 404, 429, 503) },
        },
      },
      async (request, reply) => {
        const principal = deps.access.workspace(request, 'documents:delete');
        const caller = deps.access.caller(request, principal, principal.org, principal.ws);
        const document = await call(deps, request, 'ingestion.document.delete', caller, {
          document_id: request.params.doc_id,
        });
        return reply.code(202).send(document);
      },
    );
  };
}

function tooLarge(limit: number): AppError {
  return new AppError(
    'payload-too-large',
    `the upload is larger than this workspace's limit of ${limit} bytes`,
  );
}

async function receiveJson(
  request: FastifyRequest,
  uploads: UploadStore,
  name: string,
  limit: number,
): Promise<Received> {
  const body = parse(CreateDocumentJson, request.body);
  const bytes = Buffer.from(body.content, 'utf8');
  if (bytes.length > limit) throw tooLarge(limit);
  const stored = await storeStream(uploads, name, Readable.from([bytes]));
  return {
    ...stored,
    declared: { type: body.content_type ?? 'text/plain', filename: null },
    fields: {
      ...(body.title !== undefined ? { title: body.title } : {}),
      ...(body.metadata !== undefined ? { metadata: JSON.stringify(body.metadata) } : {}),
      ...(body.external_id !== undefined ? { external_id: body.external_id } : {}),
    },
  };
}

/** The text fields of an upload, validated like the JSON body's. */
function checkFields(upload: Received): {
  title?: string;
  metadata?: Record<string, unknown>;
  external_id?: string;
  content_type?: string;
} {
  const { title, metadata, external_id, content_type } = upload.fields;
  const out: ReturnType<typeof checkFields> = {};
  if (title !== undefined) out.title = parse(Title, title, 'body.title');
  if (external_id !== undefined) out.external_id = parse(ExternalId, external_id, 'body.external_id');
  if (content_type !== undefined) out.content_type = content_type;
  if (metadata !== undefined) {
    let value: unknown;
    try {
      value = JSON.parse(metadata);
    } catch {
      throw invalid('body.metadata: must be a JSON object');
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw invalid('body.metadata: must be a JSON object');
    out.metadata = parse(DocumentMetadata, value, 'body.metadata');
  }
  return out;
}
