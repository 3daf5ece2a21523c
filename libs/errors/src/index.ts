/**
 * Typed errors with stable codes. Every boundary (HTTP, NATS) maps an AppError to its own wire form:
 * an RFC 9457 problem over HTTP, a `ServiceError` with the same status and code over NATS.
 */
export type ProblemCode =
  | 'invalid-request'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'payload-too-large'
  | 'unsupported-media-type'
  | 'rate-limited'
  | 'quota-exceeded'
  | 'service-unavailable'
  | 'timeout'
  | 'internal';

export const PROBLEM_TITLES: Record<ProblemCode, string> = {
  'invalid-request': 'Invalid request',
  unauthorized: 'Missing or invalid credential',
  forbidden: 'Credential lacks the scope',
  'not-found': 'Not found',
  conflict: 'Conflict',
  'payload-too-large': 'Payload too large',
  'unsupported-media-type': 'Unsupported media type',
  'rate-limited': 'Rate limited',
  'quota-exceeded': 'Quota exceeded',
  'service-unavailable': 'Service unavailable',
  timeout: 'Dependency timed out',
  internal: 'Internal error',
};

const STATUS: Record<ProblemCode, number> = {
  'invalid-request': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  'rate-limited': 429,
  'quota-exceeded': 429,
  'service-unavailable': 503,
  timeout: 503,
  internal: 500,
};

export interface AppErrorOptions {
  /** Seconds after which a retry may succeed (429, 503). */
  retryAfter?: number;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: ProblemCode;
  readonly status: number;
  readonly retryAfter: number | undefined;

  constructor(code: ProblemCode, detail: string, options: AppErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = STATUS[code];
    this.retryAfter = options.retryAfter;
  }

  get title(): string {
    return PROBLEM_TITLES[this.code];
  }

  /** Whether the same request may succeed later without change. */
  get retryable(): boolean {
    return this.status === 503 || this.status === 429;
  }
}

export const isAppError = (value: unknown): value is AppError => value instanceof AppError;

export function isProblemCode(value: unknown): value is ProblemCode {
  return typeof value === 'string' && Object.hasOwn(STATUS, value);
}

export function statusOf(code: ProblemCode): number {
  return STATUS[code];
}

export const problemType = (code: ProblemCode): string => `urn:kb:problem:${code}`;

export const invalid = (detail: string) => new AppError('invalid-request', detail);
export const unauthorized = (detail = 'missing or invalid credential') =>
  new AppError('unauthorized', detail);
export const forbidden = (detail: string) => new AppError('forbidden', detail);
export const notFound = (detail: string) => new AppError('not-found', detail);
export const conflict = (detail: string) => new AppError('conflict', detail);
export const unavailable = (detail: string, retryAfter = 1, cause?: unknown) =>
  new AppError('service-unavailable', detail, { retryAfter, cause });
