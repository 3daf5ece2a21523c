/**
 * Runs tasks one at a time per key, in call order. FerretDB v1 applies concurrent updates of one document
 * as unguarded read-modify-writes (50 concurrent `$inc` by 1 were measured to add 17), so every write to a
 * rollup document goes through here. That makes one replica exact; MongoDB itself needs none of this.
 */
export function createSerializer() {
  const tails = new Map<string, Promise<unknown>>();
  return function serially<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = tails.get(key) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return run;
  };
}

export type Serializer = ReturnType<typeof createSerializer>;

/**
 * Runs tasks one at a time per key, and a caller whose key already has a task waiting to start joins that
 * task instead of queueing another: for work that reads the latest state (a quota check), where one run
 * after a burst of callers serves them all.
 */
export function createCoalescer() {
  const serially = createSerializer();
  const waiting = new Map<string, Promise<void>>();
  return function coalesced(key: string, task: () => Promise<void>): Promise<void> {
    const joined = waiting.get(key);
    if (joined) return joined;
    const run = serially(key, () => {
      waiting.delete(key);
      return task();
    });
    waiting.set(key, run);
    return run;
  };
}
