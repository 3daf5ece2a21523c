import type { Caller } from '@kb/bus';
import type { ContextSigner, Scope } from '@kb/tenancy';

/** The key id the ingestion service signs its own messages with. */
export const SERVICE_KID = 'svc-ingestion';

/**
 * A signed context for a message this service sends on its own behalf about one workspace (events, usage,
 * settings look-ups), never wider than that workspace.
 */
export function serviceCaller(
  signer: ContextSigner,
  tenant: { org: string; ws: string },
  rid: string,
  scopes: Scope[] = ['system'],
): Caller {
  const context = { org: tenant.org, ws: tenant.ws, kid: SERVICE_KID, scopes, plan: '', rid };
  return { context, token: signer.sign(context) };
}
