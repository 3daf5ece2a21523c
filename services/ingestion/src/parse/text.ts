import { ContentError } from '../pipeline/errors.js';

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** UTF-8 text without a BOM; invalid bytes or NULs (binary content) fail the document. */
export function decodeUtf8(bytes: Uint8Array, what = 'the content'): string {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new ContentError(`${what} is not valid UTF-8 text; save it as UTF-8 and upload it again`);
  }
  if (text.includes('\u0000')) {
    throw new ContentError(`${what} contains NUL bytes, so it looks binary rather than text`);
  }
  return text;
}

/** Line endings unified, control characters other than tab and newline removed, trailing spaces trimmed. */
export function normaliseText(text: string): string {
  return (
    text
      .replace(/\r\n?/g, '\n')
      // Control characters (C0 and C1) except tab, line feed and carriage return.
      .replace(/(?![\t\n\r])\p{Cc}/gu, '')
      .replace(/[ \t]+\n/g, '\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim()
  );
}
