import type { Logger } from '@kb/log';
import type { FairQueue } from './fair.js';
import type { Queues } from './queues.js';

export interface Dispatcher {
  /** Moves tasks now (after an enqueue or a finished job) rather than at the next tick. */
  poke(): void;
  stop(): Promise<void>;
}

export interface DispatcherOptions {
  fair: FairQueue;
  queues: Queues;
  /** Jobs kept waiting in BullMQ: enough to keep every worker busy, few enough that newcomers wait little. */
  depth: number;
  log: Logger;
  intervalMs?: number;
}

/**
 * Keeps the BullMQ ingest queue topped up from the fair queue: whenever fewer than `depth` jobs wait, it
 * takes the next tasks in ring order and adds their jobs. Several replicas may dispatch at once; the depth is
 * then approximate, which only changes how many jobs wait, not the order of turns.
 */
export function startDispatcher(options: DispatcherOptions): Dispatcher {
  const { fair, queues, depth, log } = options;
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  let lastRecovery = 0;

  async function recover(): Promise<void> {
    if (Date.now() - lastRecovery < 5_000) return;
    lastRecovery = Date.now();
    const stale = await fair.stale(10_000);
    if (stale.length === 0) return;
    await queues.addIngest(stale);
    await fair.confirm(stale);
    log.info({ tasks: stale.length }, 're-dispatched tasks left in flight by a stopped dispatcher');
  }

  async function fill(): Promise<void> {
    await recover();
    for (;;) {
      const waiting = await queues.ingest.getJobCountByTypes('wait', 'prioritized', 'paused');
      const room = depth - waiting;
      if (room <= 0) return;
      const tasks = await fair.take(Math.min(room, 32));
      if (tasks.length === 0) return;
      await queues.addIngest(tasks);
      await fair.confirm(tasks);
    }
  }

  function tick(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = fill()
      .catch((error: unknown) => log.warn({ err: error }, 'dispatch failed; will retry'))
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          setImmediate(tick);
        }
      });
  }

  const timer = setInterval(tick, options.intervalMs ?? 200);
  timer.unref();
  tick();
  return {
    poke: tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
