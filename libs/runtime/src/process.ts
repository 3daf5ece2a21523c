import { flushLogs, type Logger } from '@kb/log';
import type { ShutdownRegistry } from './shutdown.js';

/**
 * Wires process signals to the shutdown registry: SIGTERM/SIGINT stop cleanly and exit 0; an uncaught
 * exception or unhandled rejection is logged, runs the same shutdown and exits 1. A second signal forces exit.
 */
export function handleProcessSignals(shutdown: ShutdownRegistry, log: Logger): void {
  const stop = (reason: string, code: number) => {
    if (shutdown.stopping) {
      log.warn({ reason }, 'second stop request: exiting now');
      flushLogs(log);
      process.exit(code || 1);
    }
    void shutdown.run(reason).then((clean) => {
      flushLogs(log);
      process.exit(code !== 0 ? code : clean ? 0 : 1);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM', 0));
  process.on('SIGINT', () => stop('SIGINT', 0));
  process.on('uncaughtException', (error) => {
    log.fatal({ err: error }, 'uncaught exception');
    stop('uncaughtException', 1);
  });
  process.on('unhandledRejection', (error) => {
    log.fatal({ err: error }, 'unhandled rejection');
    stop('unhandledRejection', 1);
  });
}
