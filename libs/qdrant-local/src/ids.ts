import { formatError } from './errors.js';

/** A point id as Qdrant has it: an unsigned integer or a UUID (always lowercase and hyphenated here). */
export type PointId = number | string;

const HEX32 = /^[0-9a-f]{32}$/;

function normaliseUuid(text: string): string | undefined {
  let s = text.trim().toLowerCase();
  if (s.startsWith('urn:uuid:')) s = s.slice('urn:uuid:'.length);
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1);
  const hex = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(s)
    ? s.replaceAll('-', '')
    : s;
  if (!HEX32.test(hex)) return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function isPointId(value: unknown): boolean {
  return (
    (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) ||
    (typeof value === 'string' && normaliseUuid(value) !== undefined)
  );
}

export function parsePointId(value: unknown): PointId {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const uuid = normaliseUuid(value);
    if (uuid) return uuid;
  }
  throw formatError(
    `value ${JSON.stringify(value)} is not a valid point ID, valid values are either an unsigned integer or a UUID`,
  );
}

export function parsePointIds(value: unknown, field: string): PointId[] {
  if (!Array.isArray(value)) throw formatError(`\`${field}\` must be a list of point ids`);
  return value.map(parsePointId);
}

/** Qdrant's id order: every integer before every UUID; UUIDs by their 128-bit value (= hex string order). */
export function comparePointIds(a: PointId, b: PointId): number {
  if (typeof a === 'number') {
    if (typeof b === 'number') return a - b;
    return -1;
  }
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
