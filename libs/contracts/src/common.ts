import { idPatternFor } from '@kb/tenancy';
import { type Static, type TSchema, Type } from '@sinclair/typebox';

export const OrgId = Type.String({
  pattern: idPatternFor('org'),
  maxLength: 40,
  description: 'organization id',
});
export const WorkspaceId = Type.String({
  pattern: idPatternFor('workspace'),
  maxLength: 40,
  description: 'workspace id',
});
export const KeyId = Type.String({ pattern: idPatternFor('key'), maxLength: 40, description: 'API key id' });
export const DocumentId = Type.String({
  pattern: idPatternFor('document'),
  maxLength: 40,
  description: 'document id',
});
export const Timestamp = Type.String({ format: 'date-time', description: 'ISO-8601 UTC timestamp' });

/** RFC 9457 problem details, as every error answer carries. */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    detail: Type.String(),
    request_id: Type.String(),
  },
  { additionalProperties: true },
);
export type Problem = Static<typeof Problem>;

export const ListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ maxLength: 512, pattern: '^[A-Za-z0-9_-]+$' })),
  },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuery>;

export const ListOf = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), next_cursor: Type.Union([Type.String(), Type.Null()]) });

/** Error payload of a NATS reply that carries a `Nats-Service-Error` header. */
export const BusProblem = Type.Object({
  code: Type.String(),
  detail: Type.String(),
  retry_after: Type.Optional(Type.Number()),
});
export type BusProblem = Static<typeof BusProblem>;
