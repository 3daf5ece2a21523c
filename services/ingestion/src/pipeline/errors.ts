import { AppError, isAppError } from '@kb/errors';

/**
 * The document itself cannot be ingested (corrupt, empty, wrong type, too large to chunk). Retrying will not
 * help, so the document fails at once; `message` is shown to the user and says what to do.
 */
export class ContentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContentError';
  }
}

export const isContentError = (error: unknown): error is ContentError => error instanceof ContentError;

/**
 * Whether another attempt may succeed: everything except bad content and refused input. Unknown errors
 * (a network failure, a store restarting) count as transient: the job's bounded retries decide.
 */
export function isTransient(error: unknown): boolean {
  if (isContentError(error)) return false;
  if (isAppError(error)) return error.retryable || error.status >= 500;
  return true;
}

/** A reason a user can act on, from any error; internals of unexpected failures are not shown. */
export function reasonOf(error: unknown): string {
  if (isContentError(error)) return error.message;
  if (error instanceof AppError) return error.message;
  if (error instanceof Error && error.name === 'UnscopedQueryError') return 'internal error';
  const message = error instanceof Error ? error.message : String(error);
  return `a dependency failed: ${message.split('\n')[0]?.slice(0, 200) ?? 'unknown error'}`;
}
