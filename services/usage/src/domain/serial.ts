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
