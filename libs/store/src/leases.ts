import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { unavailable } from '@kb/errors';
import type { Redis } from 'ioredis';
import type { Connection } from 'mongoose';

/**
 * Exclusion across processes for the by-id writes of the scoped repositories on FerretDB (by-id.ts).
 * FerretDB v1 runs a conditional write as a read followed by a write of the whole document, with no
 * transaction around them, and the by-id path does the same from this process. The per-document queue of
 * by-id.ts keeps one process's writes to a document apart; a lease per document in Redis keeps different
 * processes' apart (the API and the workers of a service, replicas), so that "read, check, write" is a
 * compare-and-set among every process holding leases on the same Redis.
 *
 * A lease lapses after `ttlMs`, so a process killed while holding one delays that document's next write by
 * at most that long. The write itself must start within `holdMs` of taking the lease (checked just before
 * it), leaving `ttlMs - holdMs` for it to reach the database before anyone else may write.
 */
export interface DocumentLeases {
  /** Runs `fn` holding the lease named `key`, waiting for another holder to release it or lapse. */
  hold<T>(key: string, fn: (lease: Lease) => Promise<T>): Promise<T>;
}

export interface Lease {
  /** Throws when the lease is too old to be trusted for a write any more (the caller retries). */
  assertHeld(): void;
}

export interface LeaseOptions {
  /** Key prefix in Redis, e.g. the service's name. */
  prefix: string;
  ttlMs?: number;
  holdMs?: number;
}

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

type LeaseRedis = Redis & { kbLeaseRelease(key: string, token: string): Promise<number> };

export function createRedisLeases(redis: Redis, options: LeaseOptions): DocumentLeases {
  const ttlMs = options.ttlMs ?? 15_000;
  const holdMs = options.holdMs ?? 10_000;
  if (holdMs >= ttlMs) throw new Error('a lease must be used for a write before it lapses');
  const unreachable = (cause: unknown) => unavailable('the document lease store is unavailable', 1, cause);
  // A defined command runs by its digest (EVALSHA), sending the script only when Redis does not have it.
  if (!('kbLeaseRelease' in redis)) redis.defineCommand('kbLeaseRelease', { numberOfKeys: 1, lua: RELEASE });
  const r = redis as LeaseRedis;
  return {
    async hold(key, fn) {
      const name = `${options.prefix}:lease:${key}`;
      const token = randomBytes(12).toString('hex');
      const waitUntil = Date.now() + ttlMs + 2_000;
      let takenAt = 0;
      for (let delay = 2; ; delay = Math.min(delay * 2, 100)) {
        let taken: string | null;
        try {
          taken = await redis.set(name, token, 'PX', ttlMs, 'NX');
        } catch (error) {
          throw unreachable(error);
        }
        if (taken === 'OK') {
          takenAt = performance.now();
          break;
        }
        // A holder that died lapses within ttlMs; waiting longer means something else is wrong.
        if (Date.now() > waitUntil) throw unavailable(`document ${key} stayed locked; retry`, 1);
        await sleep(delay + Math.random() * delay);
      }
      const lease: Lease = {
        assertHeld() {
          if (performance.now() - takenAt > holdMs) {
            throw unavailable(`the lease on ${key} is too old to write under; retry`, 1);
          }
        },
      };
      try {
        return await fn(lease);
      } finally {
        // Best effort: an unreleased lease lapses by itself.
        await r.kbLeaseRelease(name, token).catch(() => undefined);
      }
    },
  };
}

const leasesByConnection = new WeakMap<Connection, DocumentLeases>();

/**
 * Makes the by-id writes of every scoped model on `connection` hold leases from `leases`. Every process
 * that writes the same collections on FerretDB must do so, with the same Redis and prefix; on MongoDB the
 * by-id path is not taken and no lease is held.
 */
export function useDocumentLeases(connection: Connection, leases: DocumentLeases): void {
  leasesByConnection.set(connection, leases);
}

export function leasesOf(connection: Connection): DocumentLeases | undefined {
  return leasesByConnection.get(connection);
}
