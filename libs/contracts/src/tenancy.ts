import { WORKSPACE_SCOPES } from '@kb/tenancy';
import { type Static, Type } from '@sinclair/typebox';
import { KeyId, ListOf, OrgId, Timestamp, WorkspaceId } from './common.js';
import { PlanLimits, PlanName } from './plans.js';

/** HTTP bodies of the organization, workspace and API-key routes (API.md), also the tenant service's replies. */
const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' });

export const OrgStatus = Type.Union([Type.Literal('active'), Type.Literal('suspended')]);
export const Environment = Type.Union([
  Type.Literal('development'),
  Type.Literal('staging'),
  Type.Literal('production'),
]);
export const WorkspaceScopeSchema = Type.Union(WORKSPACE_SCOPES.map((scope) => Type.Literal(scope)));

export const Organization = Type.Object({
  id: OrgId,
  name: Type.String(),
  plan: PlanName,
  status: OrgStatus,
  settings: Type.Record(Type.String(), Type.Unknown()),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Organization = Static<typeof Organization>;

export const CreateOrganization = Type.Object(
  { name: Name, plan: Type.Optional(PlanName) },
  { additionalProperties: false },
);
export const UpdateOrganization = Type.Object(
  { name: Type.Optional(Name), plan: Type.Optional(PlanName), status: Type.Optional(OrgStatus) },
  { additionalProperties: false, minProperties: 1 },
);

export const WorkspaceSettings = Type.Object(
  {
    chunk_size: Type.Integer({ minimum: 100, maximum: 8_000, default: 1_000 }),
    chunk_overlap: Type.Integer({ minimum: 0, maximum: 2_000, default: 150 }),
    limits: Type.Partial(PlanLimits),
  },
  { additionalProperties: false },
);
export type WorkspaceSettings = Static<typeof WorkspaceSettings>;
export const DEFAULT_WORKSPACE_SETTINGS: WorkspaceSettings = {
  chunk_size: 1_000,
  chunk_overlap: 150,
  limits: {},
};

export const Workspace = Type.Object({
  id: WorkspaceId,
  org_id: OrgId,
  name: Type.String(),
  environment: Environment,
  status: Type.Union([Type.Literal('active'), Type.Literal('deleting')]),
  settings: WorkspaceSettings,
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Workspace = Static<typeof Workspace>;

export const CreateWorkspace = Type.Object(
  { name: Name, environment: Type.Optional(Environment) },
  { additionalProperties: false },
);
export const UpdateWorkspace = Type.Object(
  {
    name: Type.Optional(Name),
    settings: Type.Optional(Type.Partial(WorkspaceSettings, { additionalProperties: false })),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const CreateOrgKey = Type.Object({ name: Name }, { additionalProperties: false });
export const CreateWorkspaceKey = Type.Object(
  {
    name: Name,
    scopes: Type.Array(WorkspaceScopeSchema, {
      minItems: 1,
      maxItems: WORKSPACE_SCOPES.length,
      uniqueItems: true,
    }),
    expires_at: Type.Optional(Type.Union([Timestamp, Type.Null()])),
  },
  { additionalProperties: false },
);

/** Answer to a key creation: the only time the secret is shown. */
export const CreatedKey = Type.Object({
  id: KeyId,
  key: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  expires_at: Type.Union([Timestamp, Type.Null()]),
  created_at: Timestamp,
});

export const KeyInfo = Type.Object({
  id: KeyId,
  name: Type.String(),
  prefix: Type.String(),
  scopes: Type.Array(Type.String()),
  expires_at: Type.Union([Timestamp, Type.Null()]),
  created_at: Timestamp,
  last_used_at: Type.Union([Timestamp, Type.Null()]),
  revoked_at: Type.Union([Timestamp, Type.Null()]),
});

export const WorkspaceList = ListOf(Workspace);
export const KeyList = ListOf(KeyInfo);

/** The verified identity behind an API key, as the tenant service reports it to the gateway. */
export const VerifiedKey = Type.Object({
  key_id: KeyId,
  org_id: OrgId,
  workspace_id: Type.Union([WorkspaceId, Type.Null()]),
  scopes: Type.Array(Type.String()),
  plan: PlanName,
  expires_at: Type.Union([Timestamp, Type.Null()]),
});
export type VerifiedKey = Static<typeof VerifiedKey>;

/** Broadcast (core NATS, every gateway) when credentials stop being valid, so caches drop them at once. */
export const CredentialsRevoked = Type.Object({
  v: Type.Literal(1),
  key_ids: Type.Array(KeyId),
  org_id: Type.Union([OrgId, Type.Null()]),
  reason: Type.Union([
    Type.Literal('key-revoked'),
    Type.Literal('org-suspended'),
    Type.Literal('org-plan-changed'),
    Type.Literal('workspace-deleted'),
  ]),
});
export type CredentialsRevoked = Static<typeof CredentialsRevoked>;

export const AuditEntry = Type.Object({
  id: Type.String(),
  at: Timestamp,
  action: Type.String(),
  org_id: Type.Union([Type.String(), Type.Null()]),
  workspace_id: Type.Union([Type.String(), Type.Null()]),
  key_id: Type.Union([Type.String(), Type.Null()]),
  request_id: Type.Union([Type.String(), Type.Null()]),
  target: Type.Union([Type.String(), Type.Null()]),
  detail: Type.Union([Type.String(), Type.Null()]),
});
export type AuditEntry = Static<typeof AuditEntry>;
