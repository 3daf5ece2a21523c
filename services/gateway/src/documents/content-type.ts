import { CONTENT_TYPES, type ContentType } from '@kb/contracts';
import { AppError } from '@kb/errors';
import { fileTypeFromBuffer } from 'file-type';

const ALIASES: Record<string, ContentType> = {
  'text/x-markdown': 'text/markdown',
  'text/md': 'text/markdown',
  'application/xhtml+xml': 'text/html',
  'text/json': 'application/json',
  'application/x-pdf': 'application/pdf',
};
/** Declarations that say nothing about the content. */
const UNSPECIFIED = new Set(['', 'application/octet-stream', 'binary/octet-stream', 'application/unknown']);
const EXTENSIONS: Record<string, ContentType> = {
  txt: 'text/plain',
  text: 'text/plain',
  md: 'text/markdown',
  markdown: 'text/markdown',
  html: 'text/html',
  htm: 'text/html',
  json: 'application/json',
  pdf: 'application/pdf',
};

const unsupported = (detail: string) =>
  new AppError('unsupported-media-type', `${detail}; accepted types: ${CONTENT_TYPES.join(', ')}`);

/** What the upload says about itself: the declared media type (parameters dropped) and the file name. */
export interface Declared {
  type: string | null;
  filename: string | null;
}

/** What the first bytes and a pass over all of them say. */
export interface Observed {
  head: Uint8Array;
  validUtf8: boolean;
  hasNul: boolean;
}

/**
 * The content type of an upload, checked against its bytes: a PDF must carry the PDF signature, text must
 * be valid UTF-8 without NULs, and a declaration the bytes contradict (text declared, a PDF or image sent) is
 * refused with 415. An unspecified declaration is inferred from the file name, then from the bytes.
 */
export async function resolveContentType(declared: Declared, observed: Observed): Promise<ContentType> {
  const claimed = normalise(declared.type);
  if (claimed !== null && !UNSPECIFIED.has(claimed) && !isAccepted(claimed)) {
    throw unsupported(`${claimed} is not supported`);
  }
  const byName = extensionType(declared.filename);
  const stated: ContentType | null = claimed && isAccepted(claimed) ? claimed : byName;
  const sniffed = await fileTypeFromBuffer(observed.head).catch(() => undefined);

  if (sniffed?.mime === 'application/pdf') {
    if (stated === null || stated === 'application/pdf') return 'application/pdf';
    throw unsupported(`the content was declared as ${stated} but is a PDF; upload it as application/pdf`);
  }
  if (sniffed && !isTextual(sniffed.mime)) {
    throw unsupported(`the content is ${sniffed.mime}${stated ? ` although declared as ${stated}` : ''}`);
  }
  if (stated === 'application/pdf')
    throw unsupported('the content was declared as application/pdf but is not a PDF');
  if (observed.hasNul) throw unsupported('the content is binary, not text');
  if (!observed.validUtf8) {
    throw unsupported('the content is not valid UTF-8 text; save text documents as UTF-8');
  }
  return stated ?? sniffText(observed.head);
}

function normalise(type: string | null): string | null {
  if (type === null) return null;
  const base = type.split(';')[0]?.trim().toLowerCase() ?? '';
  return ALIASES[base] ?? base;
}

const isAccepted = (type: string): type is ContentType => (CONTENT_TYPES as readonly string[]).includes(type);
const isTextual = (mime: string) => mime.startsWith('text/') || /xml|json/.test(mime);

function extensionType(filename: string | null): ContentType | null {
  const extension = filename?.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1];
  return extension ? (EXTENSIONS[extension] ?? null) : null;
}

function sniffText(head: Uint8Array): ContentType {
  const start = Buffer.from(head.subarray(0, 512)).toString('utf8').trimStart().toLowerCase();
  if (start.startsWith('<!doctype html') || start.startsWith('<html')) return 'text/html';
  return 'text/plain';
}
