import { HEADERS } from '@kb/contracts';
import { unauthorized } from '@kb/errors';
import type { ContextVerifier, TenantContext } from '@kb/tenancy';
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
