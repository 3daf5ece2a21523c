import type { Logger } from '@kb/log';
import type { Redis } from 'ioredis';

/** A window's count (this request included, for a hit) and the milliseconds until it ends. */
export interface Window {
  current: number;
  ttl: number;
}

/**
 * Adds each key's count to its fixed window (the first increment of a window sets its expiry) and answers
 * `[current, ttl]` per key: one round trip for every window this replica has counted since its last flush.
 */
const INCR_WINDOWS = `
local out = {}
for i, key in ipairs(KEYS) do
  local n = tonumber(ARGV[2 * i - 1])
  local window = tonumber(ARGV[2 * i])
  local current = redis.call('INCRBY', key, n)
  local ttl = redis.call('PTTL', key)
  if current == n or ttl < 0 then
    redis.call('PEXPIRE', key, window)
    ttl = window
  end
  out[i] = {current, ttl}
end
return out`;

type WindowsRedis = Redis & { kbIncrWindows(...args: (string | number)[]): Promise<[number, number][]> };

/** This replica's view of one shared window. */
interface Entry {
  windowMs: number;
  resetAt: number;
  /** The shared count as Redis last answered it (every other replica's requests included). */
  synced: number;
  /** Counted here and sent, not yet answered. */
  inflight: number;
  /** Counted here, not yet sent. */
  pending: number;
  /** No answer from Redis yet: until there is one, every request asks Redis. */
  provisional: boolean;
  /** When Redis last answered for this window, and whether a request is asking it now. */
  syncedAt: number;
  refreshing: boolean;
}

const estimate = (e: Entry) => e.synced + e.inflight + e.pending;

/** Fixed windows in this process's memory, bounded in size: the counts while Redis is unreachable. */
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

export interface SharedWindowsOptions {
  redis: Redis;
  /** Prefix of every Redis key. */
  prefix: string;
  log: Logger;
  /** How long counts may wait before they are sent to Redis (default 50 ms). */
  flushMs?: number;
  /** A Redis call slower than this counts as Redis being unreachable (default 500 ms). */
  timeoutMs?: number;
  /** After a failure, how long to count in memory before asking Redis again (default 2 s). */
  retryMs?: number;
  maxKeys?: number;
}

export interface SharedWindows {
  /**
   * Counts one request in `key`'s window of `windowMs` whose limit is `max`: answered at once when this
   * replica can decide alone, through Redis otherwise (never rejects: Redis failing means memory).
   */
  hit(key: string, windowMs: number, max: number): Window | Promise<Window>;
  /** What this replica knows of `key`'s window (count 0 when nothing), without counting or asking Redis. */
  peek(key: string): Window;
  /** Sends the counts not yet sent. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/** Counts within this share of a window's limit from it are always checked against Redis (at least 1). */
const headroom = (max: number) => Math.max(1, Math.ceil(max / 10));

/**
 * Fixed-window counts shared by every gateway replica through Redis, without a Redis round trip per request.
 * Each replica counts locally and sends its counts in one batch every `flushMs`, learning the shared count
 * from the answer. A request is decided locally while the window is far from its limit and this replica's
 * view of it is at most `2 × flushMs` old; otherwise (within a tenth of the limit, an older view, the first
 * request of a window) it is counted in Redis before the answer. So decisions at the limit are exact with one
 * replica, and with several unless the others together spend more than that tenth within `2 × flushMs`. A
 * replica that learns a window is exceeded refuses locally until it ends.
 *
 * If Redis does not answer (an error, or nothing within `timeoutMs`), the replica counts in its own memory
 * for `retryMs` and then asks again; windows then continue from what Redis holds (counts made during the
 * outage stay local). `read` never asks Redis: it answers from what this replica knows.
 */
export function sharedWindows(options: SharedWindowsOptions): SharedWindows {
  const { prefix, log } = options;
  const redis = options.redis as WindowsRedis;
  if (typeof redis.kbIncrWindows !== 'function') redis.defineCommand('kbIncrWindows', { lua: INCR_WINDOWS });
  const flushMs = options.flushMs ?? 50;
  const freshMs = 2 * flushMs;
  const timeoutMs = options.timeoutMs ?? 500;
  const retryMs = options.retryMs ?? 2_000;
  const maxKeys = options.maxKeys ?? 100_000;
  const memory = memoryWindows(maxKeys);
  const entries = new Map<string, Entry>();
  const dirty = new Set<string>();
  let downUntil = 0;
  let down = false;
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();

  function send(batch: [string, Entry, number][]): Promise<[number, number][]> {
    const args: (string | number)[] = [batch.length];
    for (const [key] of batch) args.push(`${prefix}${key}`);
    for (const [, entry, n] of batch) args.push(n, entry.windowMs);
    let timeout: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timeout = setTimeout(() => reject(new Error(`redis did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([redis.kbIncrWindows(...args), deadline]).finally(() => clearTimeout(timeout));
  }

  /** Sends `batch` (each entry's count moved from pending to in flight) and applies Redis's answers. */
  async function exchange(batch: [string, Entry, number][]): Promise<[number, number][] | null> {
    for (const [, entry, n] of batch) entry.inflight += n;
    try {
      const answers = await send(batch);
      const now = Date.now();
      batch.forEach(([, entry, n], i) => {
        const [current, ttl] = answers[i] ?? [0, 0];
        entry.inflight -= n;
        entry.synced = Number(current);
        entry.resetAt = now + Number(ttl);
        entry.provisional = false;
        entry.syncedAt = now;
      });
      if (down) {
        down = false;
        log.info('rate limits are shared through Redis again');
      }
      return answers;
    } catch (error) {
      for (const [, entry, n] of batch) entry.inflight -= n;
      downUntil = Date.now() + retryMs;
      entries.clear();
      dirty.clear();
      if (!down) {
        down = true;
        log.error({ err: error }, 'redis unreachable: rate limits now counted in this replica’s memory');
      }
      return null;
    }
  }

  function flush(): Promise<void> {
    timer = undefined;
    const batch: [string, Entry, number][] = [];
    for (const key of dirty) {
      const entry = entries.get(key);
      if (entry && entry.pending > 0 && entry.resetAt > Date.now()) {
        batch.push([key, entry, entry.pending]);
        entry.pending = 0;
      }
    }
    dirty.clear();
    if (batch.length === 0) return flushing;
    flushing = exchange(batch).then(() => undefined);
    return flushing;
  }

  function entryFor(key: string, windowMs: number, now: number): Entry {
    let entry = entries.get(key);
    if (entry && entry.resetAt > now) return entry;
    if (entries.size >= maxKeys) {
      for (const [k, e] of entries) if (e.resetAt <= now) entries.delete(k);
      if (entries.size >= maxKeys) entries.delete(entries.keys().next().value as string);
    }
    entry = {
      windowMs,
      resetAt: now + windowMs,
      synced: 0,
      inflight: 0,
      pending: 0,
      provisional: true,
      syncedAt: 0,
      refreshing: false,
    };
    entries.set(key, entry);
    return entry;
  }

  function hit(key: string, windowMs: number, max: number): Window | Promise<Window> {
    const now = Date.now();
    if (now < downUntil) return memory.incr(key, windowMs);
    const entry = entryFor(key, windowMs, now);
    const fresh = now - entry.syncedAt < freshMs || entry.refreshing;
    if (!entry.provisional && fresh) {
      const ttl = entry.resetAt - now;
      if (entry.synced > max) return { current: entry.synced, ttl };
      const next = estimate(entry) + 1;
      if (max - next >= headroom(max)) {
        entry.pending += 1;
        dirty.add(key);
        timer ??= setTimeout(flush, flushMs).unref();
        return { current: next, ttl };
      }
    }
    // Exact: counted in Redis before the answer, together with what this replica has not sent yet.
    const n = entry.pending + 1;
    entry.pending = 0;
    entry.refreshing = !entry.provisional;
    return exchange([[key, entry, n]]).then((answers) => {
      entry.refreshing = false;
      const answer = answers?.[0];
      return answer ? { current: Number(answer[0]), ttl: Number(answer[1]) } : memory.incr(key, windowMs);
    });
  }

  function peek(key: string): Window {
    const now = Date.now();
    if (now < downUntil) return memory.read(key);
    const entry = entries.get(key);
    return entry && entry.resetAt > now
      ? { current: estimate(entry), ttl: entry.resetAt - now }
      : { current: 0, ttl: 0 };
  }

  return {
    hit,
    peek,
    flush,
    async stop() {
      if (timer) clearTimeout(timer);
      await flush();
    },
  };
}
