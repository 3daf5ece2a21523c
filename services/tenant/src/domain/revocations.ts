import type { NatsConnection } from '@kb/bus';
import { CREDENTIALS_REVOKED_SUBJECT, CredentialsRevoked, parse } from '@kb/contracts';
import type { Logger } from '@kb/log';

export interface Revocations {
  /** Tells every gateway (core NATS broadcast) to forget the credentials now. */
  broadcast(message: Omit<CredentialsRevoked, 'v'>): void;
}

export function createRevocations(nc: NatsConnection, log: Logger): Revocations {
  return {
    broadcast(message) {
      const body = parse(CredentialsRevoked, { v: 1, ...message }, 'message');
      nc.publish(CREDENTIALS_REVOKED_SUBJECT, JSON.stringify(body));
      log.info(
        { reason: body.reason, org_id: body.org_id, keys: body.key_ids.length },
        'credentials revoked',
      );
    },
  };
}
