const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)?/gu;
const MAX_TOKEN = 64;

/**
 * Lower-cased words (letters and digits in any script), NFKC-normalised, apostrophes inside words kept
 * ("don't"), everything else a separator. Shared by the dense and sparse encoders and by query handling,
 * so a document and a query of the same words always meet.
 */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  for (const match of text.normalize('NFKC').toLowerCase().matchAll(WORD)) {
    const token = match[0].replaceAll('’', "'");
    tokens.push(token.length > MAX_TOKEN ? token.slice(0, MAX_TOKEN) : token);
  }
  return tokens;
}
