import { AsyncLocalStorage } from 'node:async_hooks';
import type { TenantContext } from './context.js';

/** The verified tenant of the request or message being handled, for stores and logs deep in the call tree. */
const storage = new AsyncLocalStorage<TenantContext>();

export function runWithTenant<T>(context: TenantContext, fn: () => T): T {
  return storage.run(context, fn);
}

export function currentTenant(): TenantContext {
  const context = storage.getStore();
  if (!context) throw new Error('no tenant context: this code must run inside runWithTenant');
  return context;
}

export function tryCurrentTenant(): TenantContext | undefined {
  return storage.getStore();
}

/** Log fields of the current tenant, if any. */
export function tenantLogFields(): Record<string, string> {
  const context = storage.getStore();
  if (!context) return {};
  return { org_id: context.org, workspace_id: context.ws, key_id: context.kid, request_id: context.rid };
}
