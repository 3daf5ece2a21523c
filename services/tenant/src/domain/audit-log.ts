import type { RefusalRecorder } from '@kb/bus';
import type { Logger } from '@kb/log';
import { isId, newId, type TenantContext } from '@kb/tenancy';
import type { AuditDoc, TenantStores } from '../store/index.js';
import { isDuplicateKey } from './mongo-errors.js';

type Refusal = Parameters<RefusalRecorder>[0];

export interface AuditLog {
  /** Stores one entry; false when its id was stored before (a redelivered record). */
  write(entry: AuditDoc): Promise<boolean>;
  /** Records an action taken under a verified context: the actor's key and request id come from it. */
  record(
    tenant: TenantContext,
    action: string,
    fields: { workspace_id?: string | null; target?: string | null; detail?: string | null },
  ): Promise<void>;
  /** Records a message this service refused; the tenant it claimed is kept only when well formed. */
  refused(refusal: Refusal): Promise<void>;
}

/** A fresh entry id that sorts by creation time: a ULID, like every id, under its own `aud_` prefix. */
export const newAuditId = (): string => newId('key').replace(/^key_/, 'aud_');

const clip = (value: string, max: number) => (value.length > max ? `${value.slice(0, max)}…` : value);

export function createAuditLog(stores: TenantStores, log: Logger): AuditLog {
  async function write(entry: AuditDoc): Promise<boolean> {
    const { org_id, ...rest } = entry;
    try {
      await stores.audit.in({ org_id }).create(rest);
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  /** Audit writes follow a change already made: a failure is logged, never turned into a failed request. */
  async function safely(entry: AuditDoc): Promise<void> {
    try {
      await write(entry);
    } catch (error) {
      log.error({ err: error, action: entry.action }, 'audit entry not stored');
    }
  }

  return {
    write,
    record: (tenant, action, fields) =>
      safely({
        _id: newAuditId(),
        at: new Date(),
        action,
        org_id: isId(tenant.org, 'org') ? tenant.org : null,
        workspace_id:
          fields.workspace_id !== undefined
            ? fields.workspace_id
            : isId(tenant.ws, 'workspace')
              ? tenant.ws
              : null,
        key_id: tenant.kid,
        request_id: tenant.rid,
        target: fields.target ?? null,
        detail: fields.detail ?? null,
      }),
    refused: (refusal) =>
      safely({
        _id: newAuditId(),
        at: new Date(),
        action: 'request.refused',
        org_id: isId(refusal.org, 'org') ? refusal.org : null,
        workspace_id: isId(refusal.ws, 'workspace') ? refusal.ws : null,
        key_id: null,
        request_id: null,
        target: clip(refusal.subject, 256),
        detail: clip(`${refusal.status} ${refusal.reason}`, 512),
      }),
  };
}
