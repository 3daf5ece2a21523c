import { consumeDurable, type NatsConnection, type RunningConsumer } from '@kb/bus';
import { STREAMS, type StreamSpec } from '@kb/contracts';
import type { Logger } from '@kb/log';
import type { ContextVerifier } from '@kb/tenancy';
import type { AuditLog } from '../domain/audit-log.js';
import { AuditRecord } from '../domain/audit-record.js';
import { decodeCursor, toPage } from '../domain/pagination.js';
import { orgOf } from '../domain/tenant-scope.js';
import { toAuditEntry } from '../domain/views.js';
import type { HandlerDeps, TenantHandlers } from './deps.js';
import { findOrg } from './workspaces.js';

type AuditHandlers = TenantHandlers<'tenant.audit.list'>;

/** Audit list positions: the entry's time and id (ties broken by id), newest first. */
const POSITION = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z) ([A-Za-z0-9_.:-]{1,128})$/;

export function auditHandlers({ stores }: HandlerDeps): AuditHandlers {
  return {
    async 'tenant.audit.list'(request, { tenant }) {
      const org = (await findOrg(stores, orgOf(tenant)))._id;
      const position = decodeCursor(request.cursor, (value) => POSITION.test(value));
      const [at, id] = position ? (position.split(' ') as [string, string]) : [];
      const before = at
        ? { $or: [{ at: { $lt: new Date(at) } }, { at: new Date(at), _id: { $lt: id } }] }
        : {};
      const rows = await stores.audit
        .in({ org_id: org })
        .find(before, { sort: { at: -1, _id: -1 }, limit: request.limit + 1 });
      return toPage(rows, request.limit, toAuditEntry, (row) => `${row.at.toISOString()} ${row._id}`);
    },
  };
}

export interface AuditConsumerOptions {
  audit: AuditLog;
  verifier: ContextVerifier;
  log: Logger;
  /** The stream and durable name; the platform's unless a test needs its own. */
  stream?: StreamSpec;
  durable?: string;
}

/**
 * Stores the audit records other services publish (with a system context, on `kb.sys._.audit.<action>`).
 * Redeliveries are harmless: the event id is the entry's id.
 */
export function startAuditConsumer(
  nc: NatsConnection,
  options: AuditConsumerOptions,
): Promise<RunningConsumer> {
  return consumeDurable(nc, {
    stream: options.stream ?? STREAMS.audit,
    durable: options.durable ?? 'tenant-audit',
    schema: AuditRecord,
    scope: 'system',
    verifier: options.verifier,
    log: options.log,
    async handler(record) {
      await options.audit.write({
        _id: record.event_id,
        at: new Date(record.occurred_at),
        action: record.action,
        org_id: record.org_id,
        workspace_id: record.workspace_id,
        key_id: record.key_id,
        request_id: record.request_id,
        target: record.target,
        detail: record.detail,
      });
    },
  });
}
