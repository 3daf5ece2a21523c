import type { Logger } from '@kb/log';

/**
 * Stops a process in a fixed order: intake first (HTTP, NATS endpoints, consumers, workers), then the bus
 * (drain), then stores, then telemetry. Each step is bounded; the whole run finishes within `deadlineMs`.
 */
export type ShutdownPhase = 'intake' | 'drain' | 'close' | 'flush';
const PHASES: ShutdownPhase[] = ['intake', 'drain', 'close', 'flush'];

export interface ShutdownRegistry {
  register(phase: ShutdownPhase, name: string, stop: () => Promise<unknown> | unknown): void;
  /** Runs every registered step once; later calls return the same promise. Resolves true when all succeeded. */
  run(reason: string): Promise<boolean>;
  readonly stopping: boolean;
}

export function createShutdown(log: Logger, deadlineMs = 9_000): ShutdownRegistry {
  const steps: { phase: ShutdownPhase; name: string; stop: () => Promise<unknown> | unknown }[] = [];
  let running: Promise<boolean> | undefined;

  async function runAll(reason: string): Promise<boolean> {
    const started = Date.now();
    log.info({ reason }, 'shutting down');
    let ok = true;
    for (const phase of PHASES) {
      const inPhase = steps.filter((step) => step.phase === phase);
      const remaining = Math.max(deadlineMs - (Date.now() - started), 100);
      const results = await Promise.all(
        inPhase.map((step) =>
          withTimeout(Promise.resolve().then(step.stop), remaining).then(
            () => true,
            (error: unknown) => {
              log.error({ err: error, step: step.name }, 'shutdown step failed');
              return false;
            },
          ),
        ),
      );
      ok &&= results.every(Boolean);
    }
    log.info({ took_ms: Date.now() - started, clean: ok }, 'stopped');
    return ok;
  }

  return {
    register(phase, name, stop) {
      steps.push({ phase, name, stop });
    },
    run(reason) {
      running ??= runAll(reason);
      return running;
    },
    get stopping() {
      return running !== undefined;
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
