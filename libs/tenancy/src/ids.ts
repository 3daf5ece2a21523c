import { monotonicFactory } from 'ulidx';

/**
 * Server-generated ids: `<prefix>_<ulid>` in lowercase Crockford base32. They are safe as NATS subject tokens,
 * Qdrant collection name parts and MongoDB values; anything else is refused at every boundary.
 */
export const ID_PATTERN_SOURCE = '^[a-z]+_[0-9a-z]{26}$';
const ID_PATTERN = new RegExp(ID_PATTERN_SOURCE);

export const ID_PREFIXES = { org: 'org', workspace: 'ws', key: 'key', document: 'doc' } as const;
export type IdKind = keyof typeof ID_PREFIXES;
export type IdPrefix = (typeof ID_PREFIXES)[IdKind];

export const idPatternFor = (kind: IdKind): string => `^${ID_PREFIXES[kind]}_[0-9a-z]{26}$`;

const nextUlid = monotonicFactory();

export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_${nextUlid().toLowerCase()}`;
}

/** True when `value` is a well-formed id (of `kind`, when given). */
export function isId(value: unknown, kind?: IdKind): value is string {
  if (typeof value !== 'string' || value.length > 40 || !ID_PATTERN.test(value)) return false;
  return kind === undefined || value.startsWith(`${ID_PREFIXES[kind]}_`);
}
