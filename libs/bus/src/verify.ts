import { HEADERS } from '@kb/contracts';
import { invalid, unauthorized } from '@kb/errors';
import { type ContextVerifier, ORG_LEVEL, SYSTEM_ORG, type TenantContext } from '@kb/tenancy';
import type { Msg } from '@nats-io/transport-node';

/** Request ids as the gateway assigns them (its own, or the client's `x-request-id` of that shape). */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The verified tenant context stamped on a message, with the message's request id (`Kb-Request-Id`: for
 * correlating logs and traces only, never for deciding anything, since the signature does not cover it);
 * throws AppError(unauthorized) when the context is absent or bad.
 */
export function verifyMessageContext(
  msg: Pick<Msg, 'headers'>,
  verifier: ContextVerifier,
  at?: number,
): TenantContext {
  const token = msg.headers?.get(HEADERS.context);
  if (!token) throw unauthorized('message carries no tenant context');
  const context = verifier.verify(token, at === undefined ? undefined : { at });
  const rid = msg.headers?.get(HEADERS.requestId) ?? '';
  return { ...context, rid: REQUEST_ID.test(rid) ? rid : 'unknown' };
}

/**
 * A message body that names a tenant (`org_id`, and `workspace_id` where it has one: null for the
 * organization as a whole) must name the one its verified context is for, so one tenant's publisher cannot
 * make a consumer act on another tenant's data. Only a system context (`kb.sys`) speaks of other tenants.
 */
export function assertBodyTenant(body: unknown, tenant: TenantContext): void {
  if (tenant.org === SYSTEM_ORG || typeof body !== 'object' || body === null) return;
  const named = body as { org_id?: unknown; workspace_id?: unknown };
  const org = named.org_id;
  const ws = named.workspace_id === null ? ORG_LEVEL : named.workspace_id;
  if ((org !== undefined && org !== tenant.org) || (ws !== undefined && ws !== tenant.ws))
    throw invalid('message body names another tenant than its context');
}
