import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Logger } from '@kb/log';
import type { Redis } from 'ioredis';

type Window = { current: number; ttl: number };
type Done = (error: Error | null, result?: Window) => void;

/** One fixed window per key: INCR, the window's expiry set by the first request of it. */
const INCR = `
local current = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if current == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {current, ttl}`;

const READ = `
local current = redis.call('GET', KEYS[1])
if not current then return {0, 0} end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then ttl = 0 end
return {tonumber(current), ttl}`;

/** Fixed windows in this process's memory, bounded in size. */
function memoryWindows(maxKeys: number) {
  const windows = new Map<string, { count: number; resetAt: number }>();
  const live = (key: string, now: number) => {
    const window = windows.get(key);
    return window && window.resetAt > now ? window : undefined;
  };
  return {
    incr(key: string, timeWindow: number): Window {
      const now = Date.now();
      let window = live(key, now);
      if (!window) {
        windows.delete(key);
        if (windows.size >= maxKeys) windows.delete(windows.keys().next().value as string);
        window = { count: 0, resetAt: now + timeWindow };
        windows.set(key, window);
      }
      window.count += 1;
      return { current: window.count, ttl: window.resetAt - now };
    },
    read(key: string): Window {
      const now = Date.now();
      const window = live(key, now);
      return window ? { current: window.count, ttl: window.resetAt - now } : { current: 0, ttl: 0 };
    },
  };
}

export interface FallbackStoreOptions {
  redis: Redis;
  /** Prefix of every Redis key. */
  prefix: string;
  log: Logger;
  /** A Redis call slower than this counts as Redis being unreachable (default 500 ms). */
  timeoutMs?: number;
  /** After a failure, how long to count in memory before asking Redis again (default 2 s). */
  retryMs?: number;
  maxLocalKeys?: number;
}

/**
 * A store for @fastify/rate-limit that fails open to memory: windows live in Redis, shared by every gateway
 * replica, and while Redis does not answer (an error, or no reply within `timeoutMs`) the same limits are
 * counted in this process's memory instead. Each replica then enforces the full limit on its own, so N
 * replicas admit up to N times the limit until Redis is back; windows then continue from what Redis holds.
 */
export function fallbackStore(options: FallbackStoreOptions): FastifyRateLimitStoreCtor {
  const { redis, prefix, log } = options;
  const timeoutMs = options.timeoutMs ?? 500;
  const retryMs = options.retryMs ?? 2_000;
  const memory = memoryWindows(options.maxLocalKeys ?? 100_000);
  let downUntil = 0;
  let down = false;

  function viaRedis(script: string, key: string, args: (string | number)[]): Promise<Window> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`redis did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    const call = redis.eval(script, 1, `${prefix}${key}`, ...args) as Promise<[number, number]>;
    return Promise.race([call, timeout])
      .then(([current, ttl]) => ({ current: Number(current), ttl: Number(ttl) }))
      .finally(() => clearTimeout(timer));
  }

  function run(script: string, key: string, args: (string | number)[], local: () => Window, done: Done) {
    if (Date.now() < downUntil) {
      done(null, local());
      return;
    }
    viaRedis(script, key, args).then(
      (window) => {
        if (down) {
          down = false;
          log.info('rate limits are shared through Redis again');
        }
        done(null, window);
      },
      (error: unknown) => {
        downUntil = Date.now() + retryMs;
        if (!down) {
          down = true;
          log.error({ err: error }, 'redis unreachable: rate limits now counted in this replica’s memory');
        }
        done(null, local());
      },
    );
  }

  return class FallbackStore implements FastifyRateLimitStore {
    incr(key: string, done: Done, timeWindow: number): void {
      run(INCR, key, [timeWindow], () => memory.incr(key, timeWindow), done);
    }

    read(key: string, done: Done): void {
      run(READ, key, [], () => memory.read(key), done);
    }

    /** Limiters are told apart by their keys (`key:`, `org:`, `ip:`), so children share the windows. */
    child(): FallbackStore {
      return this;
    }
  };
}
