import { OrgId, Timestamp, WorkspaceId } from '@kb/contracts';
import { type Static, Type } from '@sinclair/typebox';

/**
 * A record on the audit stream (`kb.*.*.audit.>`, STREAMS.audit), published by any service with a system
 * context on `auditSubject(null, action)`. Defined here for now; it belongs in @kb/contracts (events.ts).
 */
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

export const AuditRecord = Type.Object(
  {
    v: Type.Literal(1),
    /** Also the record's `Nats-Msg-Id`; the tenant service stores each event id once. */
    event_id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' }),
    action: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z][a-z0-9.-]*$' }),
    org_id: Nullable(OrgId),
    workspace_id: Nullable(WorkspaceId),
    /** The acting credential (`key_…`, `master`, or a service name), when known. */
    key_id: Nullable(Type.String({ maxLength: 64 })),
    request_id: Nullable(Type.String({ maxLength: 128 })),
    target: Nullable(Type.String({ maxLength: 512 })),
    detail: Nullable(Type.String({ maxLength: 2_000 })),
    occurred_at: Timestamp,
  },
  { additionalProperties: false },
);
export type AuditRecord = Static<typeof AuditRecord>;
