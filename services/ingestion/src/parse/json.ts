import { ContentError } from '../pipeline/errors.js';

/** Deeper structures are refused: they are not documents a person would search. */
export const MAX_JSON_DEPTH = 256;

/**
 * Searchable text of a JSON document: one `path: value` line per scalar (arrays of scalars on one line), so
 * both keys and values are found. A top-level `title` or `name` string becomes the title. The walk is
 * iterative, so depth is limited by the rule above rather than by the stack.
 */
export function jsonToText(source: string): { text: string; title: string | null } {
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (error) {
    const detail = error instanceof Error ? error.message : 'syntax error';
    throw new ContentError(`the JSON is invalid (${detail.slice(0, 200)})`);
  }
  const lines: string[] = [];
  const stack: { path: string; value: unknown; depth: number }[] = [{ path: '', value, depth: 0 }];
  while (stack.length > 0) {
    const { path, value: current, depth } = stack.pop() as { path: string; value: unknown; depth: number };
    if (depth > MAX_JSON_DEPTH) {
      throw new ContentError(
        `the JSON is nested more than ${MAX_JSON_DEPTH} levels deep; flatten it and upload again`,
      );
    }
    if (current === null || typeof current !== 'object') {
      if (current !== null && current !== '')
        lines.push(path ? `${path}: ${String(current)}` : String(current));
      continue;
    }
    if (Array.isArray(current) && current.every((item) => item === null || typeof item !== 'object')) {
      const scalars = current.filter((item) => item !== null && item !== '').map(String);
      if (scalars.length > 0) lines.push(path ? `${path}: ${scalars.join(', ')}` : scalars.join(', '));
      continue;
    }
    const entries = Array.isArray(current)
      ? current.map((item, index) => [String(index), item] as const)
      : Object.entries(current as Record<string, unknown>);
    // Pushed in reverse, so lines come out in document order.
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i] as readonly [string, unknown];
      const childPath = Array.isArray(current) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      stack.push({ path: childPath, value: child, depth: depth + 1 });
    }
  }
  const root = value as Record<string, unknown> | null;
  const title =
    root && typeof root === 'object' && !Array.isArray(root)
      ? ([root.title, root.name].find((v): v is string => typeof v === 'string' && v.trim() !== '')?.trim() ??
        null)
      : null;
  return { text: lines.join('\n'), title };
}
