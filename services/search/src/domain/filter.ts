import type { SearchFilter } from '@kb/contracts';
import { invalid } from '@kb/errors';
import type { Condition } from '@kb/vector-store';

/** Payload keys of the platform's own; a user filter naming one is refused rather than silently scoped. */
const RESERVED = new Set([
  'org_id',
  'workspace_id',
  'document_id',
  'version',
  'live',
  'deleted',
  'chunk_index',
  'text',
  'title',
  'metadata',
]);

/**
 * Conditions for a client's filter. Metadata keys are nested under `metadata.` so they can only ever match
 * metadata, never the tenant fields; both the request's filter and a token's are translated the same way and
 * ANDed, so neither can widen the other.
 */
export function filterConditions(filter: SearchFilter | null, where: string): Condition[] {
  if (!filter) return [];
  const conditions: Condition[] = [];
  for (const [key, value] of Object.entries(filter.metadata ?? {})) {
    const root = key.split('.')[0] ?? key;
    if (RESERVED.has(key) || RESERVED.has(root))
      throw invalid(`${where}.metadata.${key}: is a reserved field and cannot be filtered on`);
    const path = `metadata.${key}`;
    if (typeof value === 'object' && value !== null) {
      const values = value.in;
      const kinds = new Set(values.map((v) => typeof v));
      if (kinds.size > 1) throw invalid(`${where}.metadata.${key}.in: values must all have the same type`);
      if (typeof values[0] === 'boolean') {
        conditions.push({
          should: values.map((v) => ({ key: path, match: { value: v as boolean } })),
        } as Condition);
      } else {
        conditions.push({ key: path, match: { any: values as string[] | number[] } } as Condition);
      }
    } else {
      conditions.push({ key: path, match: { value } } as Condition);
    }
  }
  if (filter.document_ids?.length)
    conditions.push({ key: 'document_id', match: { any: filter.document_ids } });
  return conditions;
}
