import { isRecord } from './errors.js';

/** The parts of a text index's params that change how `match.text` compares strings. */
export interface TextParams {
  tokenizer: 'word' | 'whitespace' | 'prefix' | 'multilingual';
  lowercase: boolean;
  minTokenLen: number | undefined;
  maxTokenLen: number | undefined;
}

export function textParams(params: Record<string, unknown> | undefined): TextParams {
  const p = isRecord(params) ? params : {};
  const tokenizer =
    p.tokenizer === 'whitespace' || p.tokenizer === 'prefix' || p.tokenizer === 'multilingual';
  return {
    tokenizer: tokenizer ? (p.tokenizer as TextParams['tokenizer']) : 'word',
    lowercase: p.lowercase !== false,
    minTokenLen: typeof p.min_token_len === 'number' ? p.min_token_len : undefined,
    maxTokenLen: typeof p.max_token_len === 'number' ? p.max_token_len : undefined,
  };
}

export function tokenize(text: string, params: TextParams): string[] {
  const source = params.lowercase ? text.toLowerCase() : text;
  const raw = params.tokenizer === 'whitespace' ? source.split(/\s+/u) : source.split(/[^\p{L}\p{N}_]+/u);
  return raw.filter(
    (t) =>
      t.length > 0 &&
      (params.minTokenLen === undefined || t.length >= params.minTokenLen) &&
      (params.maxTokenLen === undefined || t.length <= params.maxTokenLen),
  );
}

function has(docTokens: string[], token: string, prefix: boolean): boolean {
  return prefix ? docTokens.some((t) => t.startsWith(token)) : docTokens.includes(token);
}

export type TextMode = 'text' | 'text_any' | 'phrase';

/** Full-text semantics of an indexed field: all tokens (`text`), any token, or consecutive tokens. */
export function matchIndexedText(stored: string, query: string, mode: TextMode, params: TextParams): boolean {
  const doc = tokenize(stored, params);
  const wanted = tokenize(query, params);
  const prefix = params.tokenizer === 'prefix';
  if (mode === 'text') return wanted.every((t) => has(doc, t, prefix));
  if (mode === 'text_any') return wanted.some((t) => has(doc, t, prefix));
  if (wanted.length === 0) return true;
  for (let start = 0; start + wanted.length <= doc.length; start++) {
    if (wanted.every((t, i) => doc[start + i] === t)) return true;
  }
  return false;
}

/** Without a text index Qdrant compares raw strings: substring for `text`/`phrase`, any word for `text_any`. */
export function matchPlainText(stored: string, query: string, mode: TextMode): boolean {
  if (mode === 'text_any') return query.split(/\s+/u).some((t) => t.length > 0 && stored.includes(t));
  return stored.includes(query);
}
