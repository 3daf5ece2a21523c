import { HEADERS } from '@kb/contracts';
import { unauthorized } from '@kb/errors';
import type { ContextVerifier, TenantContext } from '@kb/tenancy';
import type { Msg } from '@nats-io/transport-node';

/** The verified tenant context stamped on a message; throws AppError(unauthorized) when absent or bad. */
export function verifyMessageContext(
  msg: Pick<Msg, 'headers'>,
  verifier: ContextVerifier,
  at?: number,
): TenantContext {
  const token = msg.headers?.get(HEADERS.context);
  if (!token) throw unauthorized('message carries no tenant context');
  return verifier.verify(token, at === undefined ? undefined : { at });
}
