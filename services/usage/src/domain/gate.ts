/**
 * Lets many tasks run together (`shared`) or one alone (`exclusive`): the counter rebuild runs exclusively,
 * so no event is half-way between MongoDB and Redis while it reads the one and overwrites the other.
 * An exclusive task waits for the shared ones running; shared ones arriving meanwhile wait for it.
 */
export function createGate() {
  let active = 0;
  let closed: Promise<void> | null = null;
  let drained: (() => void) | null = null;

  return {
    async shared<T>(task: () => Promise<T>): Promise<T> {
      while (closed) await closed;
      active += 1;
      try {
        return await task();
      } finally {
        active -= 1;
        if (active === 0) drained?.();
      }
    },

    async exclusive<T>(task: () => Promise<T>): Promise<T> {
      while (closed) await closed;
      let open: () => void = () => undefined;
      closed = new Promise<void>((resolve) => {
        open = resolve;
      });
      try {
        if (active > 0) {
          await new Promise<void>((resolve) => {
            drained = resolve;
          });
        }
        drained = null;
        return await task();
      } finally {
        closed = null;
        open();
      }
    },
  };
}

export type Gate = ReturnType<typeof createGate>;
