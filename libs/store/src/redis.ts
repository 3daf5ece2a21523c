import type { Logger } from '@kb/log';
import { Redis } from 'ioredis';

export interface RedisOptions {
  /**
   * BullMQ workers block on Redis and must retry forever (`maxRetriesPerRequest: null`); request paths
   * should fail fast instead, so a Redis outage becomes a 503 rather than a hung request.
   */
  blocking?: boolean;
}

export async function connectRedis(url: string, log: Logger, options: RedisOptions = {}): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: options.blocking ? null : 1,
    enableOfflineQueue: options.blocking === true,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  redis.on('error', (error) => log.warn({ err: error.message }, 'redis connection error'));
  await redis.connect();
  return redis;
}

/** Closes politely, falling back to a hard disconnect when Redis is unreachable. */
export async function closeRedis(redis: Redis): Promise<void> {
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}
