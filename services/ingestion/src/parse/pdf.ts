import { ContentError } from '../pipeline/errors.js';

type PdfJs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');
let pdfjs: Promise<PdfJs> | undefined;
/** Loaded on first use: pdf.js is large and most documents are not PDFs. */
const loadPdfJs = () => {
  pdfjs ??= import('pdfjs-dist/legacy/build/pdf.mjs');
  return pdfjs;
};

export interface PdfText {
  text: string;
  title: string | null;
  pages: number;
}

/** Pages beyond this are not read; the document would be too large to be useful as one anyway. */
const MAX_PAGES = 5_000;

/**
 * The text layer of a PDF, page by page (pages separated by blank lines). Scanned PDFs without text, damaged
 * files and password-protected ones fail with a reason saying so.
 */
export async function pdfToText(bytes: Uint8Array): Promise<PdfText> {
  const { getDocument } = await loadPdfJs();
  // pdf.js takes ownership of (and may detach) the buffer it is given: pass a copy.
  const task = getDocument({
    data: new Uint8Array(bytes),
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    stopAtErrors: false,
    verbosity: 0,
  });
  let document: Awaited<typeof task.promise>;
  try {
    document = await task.promise;
  } catch (error) {
    await task.destroy().catch(() => undefined);
    throw pdfError(error);
  }
  try {
    if (document.numPages > MAX_PAGES) {
      throw new ContentError(`the PDF has ${document.numPages} pages; at most ${MAX_PAGES} are accepted`);
    }
    const pages: string[] = [];
    for (let number = 1; number <= document.numPages; number++) {
      const page = await document.getPage(number);
      const content = await page.getTextContent();
      let text = '';
      for (const item of content.items) {
        if (!('str' in item)) continue;
        text += item.str;
        if (item.hasEOL) text += '\n';
        else if (item.str && !/\s$/.test(item.str)) text += ' ';
      }
      pages.push(text);
      page.cleanup();
      // Let timers (job-lock renewals) run between pages of a long document.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const text = pages.join('\n\n');
    if (text.trim() === '') {
      throw new ContentError(
        'the PDF has no text layer (it may be scanned images); upload a PDF with selectable text',
      );
    }
    const info = (await document.getMetadata().catch(() => null))?.info as { Title?: unknown } | undefined;
    const title = typeof info?.Title === 'string' && info.Title.trim() ? info.Title.trim() : null;
    return { text, title, pages: document.numPages };
  } catch (error) {
    throw pdfError(error);
  } finally {
    await document.destroy().catch(() => undefined);
  }
}

function pdfError(error: unknown): Error {
  if (error instanceof ContentError) return error;
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'PasswordException') {
    return new ContentError('the PDF is password-protected; upload it without a password');
  }
  if (name === 'InvalidPDFException' || name === 'FormatError' || name === 'UnknownErrorException') {
    return new ContentError(`the PDF could not be read (${message}); it may be damaged or not a PDF`);
  }
  return new ContentError(`the PDF could not be read (${message.slice(0, 200)})`);
}
