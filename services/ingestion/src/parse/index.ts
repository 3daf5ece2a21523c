import type { ContentType } from '@kb/contracts';
import { ContentError } from '../pipeline/errors.js';
import { htmlToText } from './html.js';
import { jsonToText } from './json.js';
import { markdownToText } from './markdown.js';
import { pdfToText } from './pdf.js';
import { decodeUtf8, normaliseText } from './text.js';

export interface Parsed {
  text: string;
  /** A title found in the document (HTML `<title>`, first Markdown heading, PDF metadata, JSON `title`). */
  title: string | null;
}

const PDF_MAGIC = '%PDF-';

/**
 * Readable text of an upload of `contentType`. Bad content throws ContentError with a reason for the user:
 * bytes contradicting the declared type, invalid UTF-8, a damaged PDF, structures nested too deeply, no text.
 */
export async function parseDocument(bytes: Uint8Array, contentType: ContentType): Promise<Parsed> {
  if (bytes.length === 0) throw new ContentError('the file is empty');
  const looksPdf = Buffer.from(bytes.subarray(0, 1024)).toString('latin1').includes(PDF_MAGIC);
  if (contentType !== 'application/pdf' && looksPdf) {
    throw new ContentError(
      `the content is a PDF but was declared as ${contentType}; upload it as application/pdf`,
    );
  }
  let parsed: Parsed;
  try {
    parsed = await parseAs(bytes, contentType);
  } catch (error) {
    // Recursive parsers (Markdown) give up on absurd nesting with a stack overflow: that is the content's fault.
    if (error instanceof RangeError) {
      throw new ContentError('the document is nested too deeply to be read; simplify its structure');
    }
    throw error;
  }
  const text = normaliseText(parsed.text);
  if (text === '') throw new ContentError('no text was found in the document');
  return { text, title: parsed.title?.slice(0, 512) ?? null };
}

async function parseAs(bytes: Uint8Array, contentType: ContentType): Promise<Parsed> {
  switch (contentType) {
    case 'application/pdf':
      if (!Buffer.from(bytes.subarray(0, 1024)).toString('latin1').includes(PDF_MAGIC)) {
        throw new ContentError('the content was declared as application/pdf but is not a PDF');
      }
      return pdfToText(bytes);
    case 'text/html':
      return htmlToText(decodeUtf8(bytes));
    case 'text/markdown':
      return markdownToText(decodeUtf8(bytes));
    case 'application/json':
      return jsonToText(decodeUtf8(bytes));
    case 'text/plain':
      return { text: decodeUtf8(bytes), title: null };
  }
}
