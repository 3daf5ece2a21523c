import { isId, ORG_LEVEL, SYSTEM_ORG } from '@kb/tenancy';

/*
 * Subjects, streams and consumer names are a frozen public API: every service, replica and stored JetStream
 * message depends on them. Add new ones; never rename or reshape existing ones.
 *
 *   kb.<org>.<ws>.<service>.<op…>    tenant request/reply (ws = "_" for organization-level requests)
 *   kb.<org>.<ws>.ingest.requested   JetStream: upload accepted by the gateway
 *   kb.<org>.<ws>.evt.<event…>       JetStream: lifecycle events (document.ready|failed|deleted)
 *   kb.<org>.<ws>.metering.<metric>  JetStream: usage events (not `usage.…`: that is the usage service's requests)
 *   kb.sys.<service>.<op…>           pre-tenant platform requests (key verification)
 *   kbdlq.<stream>.<consumer>        JetStream: messages that exhausted their deliveries or were refused
 *
 * Dead letters live outside `kb.` because `kb.dlq.…` would overlap the tenant streams' `kb.*.*.…` subjects.
 */

export const ROOT = 'kb';

export interface TenantRef {
  org: string;
  /** Workspace id, or null for organization-level subjects. */
  ws: string | null;
}

const TOKEN = /^[a-z][a-z0-9_-]*$/;

function checkedTokens(path: string): string {
  const tokens = path.split('.');
  if (!tokens.every((token) => TOKEN.test(token))) throw new Error(`invalid subject path "${path}"`);
  return path;
}

function tenantTokens({ org, ws }: TenantRef): string {
  if (!isId(org, 'org')) throw new Error('subject needs a valid organization id');
  if (ws !== null && !isId(ws, 'workspace')) throw new Error('subject needs a valid workspace id');
  return `${ROOT}.${org}.${ws ?? ORG_LEVEL}`;
}

/** `kb.<org>.<ws>.<op>` for a tenant request such as `search.query`. */
export const tenantSubject = (tenant: TenantRef, op: string): string =>
  `${tenantTokens(tenant)}.${checkedTokens(op)}`;

/** The subscription subject covering every tenant's `<op>`. */
export const tenantWildcard = (op: string): string => `${ROOT}.*.*.${checkedTokens(op)}`;

export const sysSubject = (op: string): string => `${ROOT}.${SYSTEM_ORG}.${checkedTokens(op)}`;

export const ingestRequestedSubject = (tenant: TenantRef): string =>
  tenantSubject(tenant, 'ingest.requested');

export const eventSubject = (tenant: TenantRef, event: string): string =>
  tenantSubject(tenant, `evt.${event}`);

export const usageSubject = (tenant: TenantRef, metric: string): string =>
  tenantSubject(tenant, `metering.${metric}`);

/** Core-NATS broadcast to every gateway: credentials that must stop working now. */
export const CREDENTIALS_REVOKED_SUBJECT = `${ROOT}.${SYSTEM_ORG}.evt.credentials.revoked`;

/** Audit records (refused cross-tenant attempts and the like); `kb.sys._.audit.…` for platform-level ones. */
export const auditSubject = (tenant: TenantRef | null, action: string): string =>
  tenant
    ? tenantSubject(tenant, `audit.${action}`)
    : `${ROOT}.${SYSTEM_ORG}.${ORG_LEVEL}.audit.${checkedTokens(action)}`;

export const DLQ_ROOT = 'kbdlq';

export const dlqSubject = (stream: string, consumer: string): string =>
  `${DLQ_ROOT}.${checkedTokens(stream.toLowerCase().replaceAll('_', '-'))}.${checkedTokens(consumer)}`;

export interface StreamSpec {
  name: string;
  subjects: string[];
  description: string;
}

export const STREAMS = {
  ingest: {
    name: 'KB_INGEST',
    subjects: [`${ROOT}.*.*.ingest.>`],
    description: 'accepted uploads awaiting ingestion',
  },
  events: { name: 'KB_EVENTS', subjects: [`${ROOT}.*.*.evt.>`], description: 'document lifecycle events' },
  usage: { name: 'KB_USAGE', subjects: [`${ROOT}.*.*.metering.>`], description: 'usage events for metering' },
  audit: {
    name: 'KB_AUDIT',
    subjects: [`${ROOT}.*.*.audit.>`],
    description: 'audit records for the tenant service',
  },
  deadLetter: {
    name: 'KB_DLQ',
    subjects: [`${DLQ_ROOT}.>`],
    description: 'messages that exhausted their deliveries',
  },
} as const satisfies Record<string, StreamSpec>;

/** NATS micro-service names, as discovered with `$SRV.PING.<name>`. */
export const SERVICE_NAMES = ['tenant', 'ingestion', 'search', 'usage'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/**
 * The NATS KV bucket of per-organization trace sampling ratios, which every service watches: key = an
 * organization id (or `default` for the base ratio), value = a ratio from 0 to 1 as text. Deleting a key
 * returns to the configured base.
 */
export const SAMPLING_BUCKET = 'kb-sampling';
export const SAMPLING_DEFAULT_KEY = 'default';

/** Headers stamped on every tenant message. */
export const HEADERS = {
  org: 'Kb-Org',
  workspace: 'Kb-Workspace',
  context: 'Kb-Context',
  requestId: 'Kb-Request-Id',
  errorCode: 'Kb-Error-Code',
} as const;
