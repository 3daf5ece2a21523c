import type { Logger } from '@kb/log';

export interface LastUsedRecorder {
  /** Notes that a key was just used; written with the next batch. */
  touch(keyId: string): void;
  /** Writes the pending batch now (one write for all of them). */
  flush(): Promise<void>;
  /** Stops the timer and writes what is pending. */
  stop(): Promise<void>;
}

/**
 * Records `last_used_at` in batches: verifications only note the key id in memory, and one write per
 * interval sets the time on every key used since, so a busy key costs no write per request.
 */
export function createLastUsedRecorder(
  write: (keyIds: string[], at: Date) => Promise<void>,
  options: { intervalMs?: number; log: Logger },
): LastUsedRecorder {
  let pending = new Set<string>();
  let running: Promise<void> = Promise.resolve();

  function flush(): Promise<void> {
    running = running.then(async () => {
      if (pending.size === 0) return;
      const batch = pending;
      pending = new Set();
      try {
        await write([...batch], new Date());
      } catch (error) {
        // Keep the ids for the next attempt; a lost last-use time is not worth failing anything for.
        for (const id of batch) pending.add(id);
        options.log.warn({ err: error, keys: batch.size }, 'could not record key use');
      }
    });
    return running;
  }

  const timer = setInterval(() => void flush(), options.intervalMs ?? 1_000);
  timer.unref();

  return {
    touch: (keyId) => void pending.add(keyId),
    flush,
    async stop() {
      clearInterval(timer);
      await flush();
    },
  };
}
