import type { Scope } from '@kb/tenancy';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { ActivityList } from './activity.js';
import { KeyId, ListOf, ListQuery, OrgId, WorkspaceId } from './common.js';
import {
  CreateDocumentRequest,
  CreateDocumentResponse,
  Document,
  DocumentIdRequest,
  DocumentList,
  DocumentListQuery,
} from './documents.js';
import { SearchQuery, SearchResponse } from './search.js';
import type { ServiceName } from './subjects.js';
import {
  AuditEntry,
  CreatedKey,
  CreateOrganization,
  CreateOrgKey,
  CreateWorkspace,
  CreateWorkspaceKey,
  KeyList,
  Organization,
  UpdateOrganization,
  UpdateWorkspace,
  VerifiedKey,
  Workspace,
  WorkspaceList,
} from './tenancy.js';
import { QuotaCheck, QuotaItem, Quotas, UsageReport, UsageReportQuery } from './usage.js';

/**
 * The catalog of NATS request/reply operations. Each entry names its service, the scope a context needs,
 * and the request and response schemas used by the caller and the handler alike. A service's handler map is
 * typed from this catalog, so an operation without a handler fails to compile.
 */
export interface OperationSpec<
  Req extends TSchema = TSchema,
  Res extends TSchema = TSchema,
  Svc extends ServiceName = ServiceName,
> {
  service: Svc;
  /** Subject suffix after the tenant tokens, e.g. `search.query`. */
  op: string;
  /** Scope the verified context must allow; null when any verified context of the subject's tenant may call. */
  scope: Scope | null;
  /** Pre-tenant platform operation on `kb.sys.<op>`, called with a system context. */
  sys?: true;
  request: Req;
  response: Res;
}

/** Keeps the service name literal, so `Handlers<'search'>` requires exactly the search operations. */
const define = <const Svc extends ServiceName, Req extends TSchema, Res extends TSchema>(
  spec: OperationSpec<Req, Res, Svc>,
) => spec;

export const StatusRequest = Type.Object({}, { additionalProperties: false });
export const StatusResponse = Type.Object({
  service: Type.String(),
  version: Type.String(),
  instance: Type.String(),
  org_id: Type.String(),
  workspace_id: Type.String(),
  uptime_s: Type.Number(),
});
export type StatusResponse = Static<typeof StatusResponse>;

const status = <const Svc extends ServiceName>(service: Svc) =>
  define({ service, op: `${service}.status`, scope: null, request: StatusRequest, response: StatusResponse });

const Empty = Type.Object({}, { additionalProperties: false });
const tenant = <Req extends TSchema, Res extends TSchema>(
  op: string,
  scope: Scope,
  request: Req,
  response: Res,
) => define({ service: 'tenant', op: `tenant.${op}`, scope, request, response });

export const OPERATIONS = {
  'tenant.status': status('tenant'),
  'tenant.keys.verify': define({
    service: 'tenant',
    op: 'tenant.keys.verify',
    scope: 'system',
    sys: true,
    request: Type.Object({ key: Type.String({ maxLength: 256 }) }, { additionalProperties: false }),
    response: VerifiedKey,
  }),
  'tenant.workspace.locate': define({
    service: 'tenant',
    op: 'tenant.workspace.locate',
    scope: 'system',
    sys: true,
    request: Type.Object({ workspace_id: WorkspaceId }, { additionalProperties: false }),
    response: Type.Object({ org_id: OrgId }),
  }),
  'tenant.org.create': tenant('org.create', 'operator', CreateOrganization, Organization),
  'tenant.org.get': tenant('org.get', 'operator', Empty, Organization),
  'tenant.org.update': tenant('org.update', 'operator', UpdateOrganization, Organization),
  'tenant.org.keys.create': tenant('org.keys.create', 'operator', CreateOrgKey, CreatedKey),
  'tenant.audit.list': tenant('audit.list', 'operator', ListQuery, ListOf(AuditEntry)),
  'tenant.workspace.create': tenant('workspace.create', 'org:admin', CreateWorkspace, Workspace),
  'tenant.workspace.list': tenant('workspace.list', 'org:admin', ListQuery, WorkspaceList),
  'tenant.workspace.get': tenant('workspace.get', 'org:admin', Empty, Workspace),
  'tenant.workspace.update': tenant('workspace.update', 'org:admin', UpdateWorkspace, Workspace),
  'tenant.workspace.delete': tenant('workspace.delete', 'org:admin', Empty, Workspace),
  'tenant.keys.create': tenant('keys.create', 'org:admin', CreateWorkspaceKey, CreatedKey),
  'tenant.keys.list': tenant('keys.list', 'org:admin', ListQuery, KeyList),
  'tenant.keys.revoke': tenant(
    'keys.revoke',
    'org:admin',
    Type.Object({ key_id: KeyId }, { additionalProperties: false }),
    Empty,
  ),
  'ingestion.status': status('ingestion'),
  'ingestion.document.create': define({
    service: 'ingestion',
    op: 'ingestion.document.create',
    scope: 'documents:write',
    request: CreateDocumentRequest,
    response: CreateDocumentResponse,
  }),
  'ingestion.document.get': define({
    service: 'ingestion',
    op: 'ingestion.document.get',
    scope: 'documents:read',
    request: DocumentIdRequest,
    response: Document,
  }),
  'ingestion.document.list': define({
    service: 'ingestion',
    op: 'ingestion.document.list',
    scope: 'documents:read',
    request: DocumentListQuery,
    response: DocumentList,
  }),
  // Answers once the document has left search results; points, upload and record go asynchronously.
  'ingestion.document.delete': define({
    service: 'ingestion',
    op: 'ingestion.document.delete',
    scope: 'documents:delete',
    request: DocumentIdRequest,
    response: Document,
  }),
  'search.status': status('search'),
  'search.query': define({
    service: 'search',
    op: 'search.query',
    scope: 'search',
    request: SearchQuery,
    response: SearchResponse,
  }),
  'usage.status': status('usage'),
  'usage.report.get': define({
    service: 'usage',
    op: 'usage.report.get',
    scope: 'usage:read',
    request: UsageReportQuery,
    response: UsageReport,
  }),
  'usage.quotas.get': define({
    service: 'usage',
    op: 'usage.quotas.get',
    scope: 'usage:read',
    request: Empty,
    response: Quotas,
  }),
  // Any verified context of the tenant may ask (the gateway checks before accepting work, whatever the key's scopes).
  'usage.quota.check': define({
    service: 'usage',
    op: 'usage.quota.check',
    scope: null,
    request: QuotaCheck,
    response: QuotaItem,
  }),
  // The operator's view of an organization's recent requests and jobs (organization-level subject).
  'usage.activity.list': define({
    service: 'usage',
    op: 'usage.activity.list',
    scope: 'operator',
    request: ListQuery,
    response: ActivityList,
  }),
} as const;

export type OperationName = keyof typeof OPERATIONS;
export type OperationsOf<S extends ServiceName> = {
  [K in OperationName]: (typeof OPERATIONS)[K]['service'] extends S ? K : never;
}[OperationName];
export type RequestOf<K extends OperationName> = Static<(typeof OPERATIONS)[K]['request']>;
export type ResponseOf<K extends OperationName> = Static<(typeof OPERATIONS)[K]['response']>;
