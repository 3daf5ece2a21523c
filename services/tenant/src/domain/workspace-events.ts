import { type Caller, createPublisher, type NatsConnection } from '@kb/bus';
import { eventSubject, WorkspaceDeleted } from '@kb/contracts';
import type { ContextSigner, TenantContext } from '@kb/tenancy';

export interface WorkspaceEvents {
  /** Announces on JetStream (`kb.<org>.<ws>.evt.workspace.deleted`) that the workspace is being deleted. */
  deleted(tenant: TenantContext, at: Date): Promise<void>;
}

/**
 * Workspace lifecycle events, published with the deleting caller's own tenant context (signed again here:
 * a handler sees the verified context, not its token), so consumers check it as they would the caller's.
 * The event id is the workspace's: a repeated announcement is dropped by JetStream's duplicate window.
 */
export function createWorkspaceEvents(nc: NatsConnection, signer: ContextSigner): WorkspaceEvents {
  const publisher = createPublisher(nc);
  return {
    async deleted(tenant, at) {
      const caller: Caller = { context: tenant, token: signer.sign(tenant) };
      const event: WorkspaceDeleted = {
        v: 1,
        event_id: `workspace-deleted:${tenant.ws}`,
        org_id: tenant.org,
        workspace_id: tenant.ws,
        occurred_at: at.toISOString(),
      };
      await publisher.publish(
        eventSubject(tenant, 'workspace.deleted'),
        WorkspaceDeleted,
        event,
        caller,
        event.event_id,
      );
    },
  };
}
