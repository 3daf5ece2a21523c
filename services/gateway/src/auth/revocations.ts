import type { NatsConnection } from '@kb/bus';
import { CREDENTIALS_REVOKED_SUBJECT, CredentialsRevoked, parse } from '@kb/contracts';
import type { Logger } from '@kb/log';
import type { KeyCache } from './key-cache.js';

/** How long a revoked key id is remembered: search tokens minted from it live at most this long. */
const TOKEN_LIFETIME_MS = 3_600_000;

/**
 * Listens (every replica, no queue group) for the tenant service's revocation broadcasts and drops the
 * affected credentials from the cache at once. Eviction-only, so a forged broadcast can cost a
 * re-verification but never grant access.
 */
export function followRevocations(nc: NatsConnection, cache: KeyCache, log: Logger) {
  const revoked = new Map<string, number>();
  const revokedKeyIds: ReadonlySet<string> = {
    has: (id: string) => {
      const at = revoked.get(id);
      if (at === undefined) return false;
      if (Date.now() - at > TOKEN_LIFETIME_MS) revoked.delete(id);
      return Date.now() - at <= TOKEN_LIFETIME_MS;
    },
  } as ReadonlySet<string>;
  const subscription = nc.subscribe(CREDENTIALS_REVOKED_SUBJECT, {
    callback: (error, msg) => {
      if (error) return;
      try {
        const event = parse(CredentialsRevoked, msg.json(), 'revocation');
        cache.dropKeys(event.key_ids);
        const now = Date.now();
        for (const id of event.key_ids) revoked.set(id, now);
        if (event.org_id) cache.dropOrg(event.org_id);
        log.info(
          { reason: event.reason, keys: event.key_ids.length, org_id: event.org_id },
          'credentials revoked',
        );
      } catch (failure) {
        log.warn({ err: failure }, 'ignored malformed revocation broadcast');
      }
    },
  });
  return { revokedKeyIds, stop: () => subscription.unsubscribe() };
}
