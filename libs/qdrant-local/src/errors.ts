/**
 * Errors shaped like Qdrant's: every failure carries the HTTP status Qdrant would answer with and the
 * message it would put in `{status: {error}}`.
 */
export class QdrantError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'QdrantError';
    this.status = status;
  }
}

export function badRequest(message: string): QdrantError {
  return new QdrantError(400, `Wrong input: ${message}`);
}

/** A request body that does not have the shape of Qdrant's schema (Qdrant reports these at deserialization). */
export function formatError(message: string): QdrantError {
  return new QdrantError(400, `Format error in JSON body: ${message}`);
}

export function notFound(message: string): QdrantError {
  return new QdrantError(404, `Not found: ${message}`);
}

export function collectionNotFound(name: string): QdrantError {
  return notFound(`Collection \`${name}\` doesn't exist!`);
}

export function conflict(message: string): QdrantError {
  return new QdrantError(409, `Wrong input: ${message}`);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads an optional non-negative integer field, answering 400 for anything else. */
export function optionalUint(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw formatError(`\`${field}\` must be an unsigned integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function optionalNumber(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw formatError(`\`${field}\` must be a number, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function optionalBool(value: unknown, field: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw formatError(`\`${field}\` must be a boolean`);
  return value;
}

/** A page size: an integer of at least 1 (Qdrant validates `limit` with min = 1). */
export function optionalLimit(value: unknown, field: string): number | undefined {
  const limit = optionalUint(value, field);
  if (limit === 0)
    throw badRequest(`Validation error in JSON body: [${field}: value 0 invalid, must be 1 or more]`);
  return limit;
}
