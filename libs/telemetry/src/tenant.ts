import { type Context, trace } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';

/** Span attributes naming the tenant a span worked for. */
export const ATTR_ORG_ID = 'kb.org_id';
export const ATTR_WORKSPACE_ID = 'kb.workspace_id';

/** The tenant of a piece of work: an organization id (or `sys`), a workspace id (or `_` for the organization). */
export interface TenantRef {
  org: string;
  ws: string;
}

/**
 * The one place spans get their tenant: when a span starts, `kb.org_id` and `kb.workspace_id` are set from
 * the tenant context current there (`tenantOf`, the AsyncLocalStorage of libs/tenancy) or, outside one, from
 * the local parent span. Code creating spans never sets them by hand; spans begun before their tenant was
 * known get it through `adoptTenant`.
 */
export class TenantSpanProcessor implements SpanProcessor {
  constructor(private readonly tenantOf: () => TenantRef | undefined) {}

  onStart(span: Span, parentContext: Context): void {
    if (span.attributes[ATTR_ORG_ID] !== undefined) return;
    const tenant = this.tenantOf() ?? inheritedTenant(parentContext);
    if (!tenant) return;
    span.setAttribute(ATTR_ORG_ID, tenant.org);
    span.setAttribute(ATTR_WORKSPACE_ID, tenant.ws);
  }

  onEnd(_span: ReadableSpan): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function inheritedTenant(parentContext: Context): TenantRef | undefined {
  const parent = trace.getSpan(parentContext);
  if (!parent || !('attributes' in parent)) return undefined;
  const attributes = (parent as unknown as ReadableSpan).attributes;
  const org = attributes[ATTR_ORG_ID];
  const ws = attributes[ATTR_WORKSPACE_ID];
  return typeof org === 'string' && typeof ws === 'string' ? { org, ws } : undefined;
}
