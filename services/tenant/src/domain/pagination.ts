import { invalid } from '@kb/errors';

/** Cursors are opaque to clients: base64url of the position after which the next page starts. */
export const encodeCursor = (position: string): string => Buffer.from(position, 'utf8').toString('base64url');

export function decodeCursor(
  cursor: string | undefined,
  valid: (position: string) => boolean,
): string | null {
  if (cursor === undefined) return null;
  const position = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!valid(position)) throw invalid('request.cursor: is not a cursor of this list');
  return position;
}

/** Cuts `rows` (fetched with `limit + 1`) to a page, with the cursor of its last item when more follow. */
export function toPage<T, R>(
  rows: T[],
  limit: number,
  view: (row: T) => R,
  positionOf: (row: T) => string,
): { items: R[]; next_cursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map(view),
    next_cursor: rows.length > limit && last !== undefined ? encodeCursor(positionOf(last)) : null,
  };
}
