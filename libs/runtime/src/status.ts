import type { Handler } from '@kb/bus';
import type { ServiceName } from '@kb/contracts';

/** Every `<service>.status` operation has the same request and response shapes. */
export type StatusHandler = Handler<'tenant.status'>;

/**
 * The `<service>.status` operation every service answers: who answered, and for which verified tenant.
 * Operators use it to check that a tenant's requests reach a service and are stamped as expected.
 */
export function statusHandler(service: ServiceName, version: string, instance: string): StatusHandler {
  const started = Date.now();
  return async (_request, { tenant }) => ({
    service,
    version,
    instance,
    org_id: tenant.org,
    workspace_id: tenant.ws,
    uptime_s: Math.round((Date.now() - started) / 1000),
  });
}
