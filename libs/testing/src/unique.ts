import { randomBytes } from 'node:crypto';

let counter = 0;

/**
 * A name no other test (in any worker or run) uses, made of `[a-z0-9_]` so it is valid as a database,
 * stream, consumer, queue or key name: `<prefix>_<time><pid><counter><random>`.
 */
export function uniqueName(prefix: string): string {
  counter += 1;
  const parts = [
    Date.now().toString(36),
    process.pid.toString(36),
    counter.toString(36),
    randomBytes(3).toString('hex'),
  ];
  return `${prefix}_${parts.join('')}`;
}
