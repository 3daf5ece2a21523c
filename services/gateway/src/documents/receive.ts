import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { AppError, invalid, isAppError, unavailable } from '@kb/errors';
import type { FastifyRequest } from 'fastify';
import type { Declared, Observed } from './content-type.js';
import type { UploadStore } from './store.js';

/** Bytes kept from the start of an upload to recognise its type. */
const HEAD_BYTES = 4_100;
const TEXT_FIELDS = new Set(['title', 'metadata', 'external_id', 'content_type']);

export interface Received {
  bytes: number;
  hash: string;
  observed: Observed;
  declared: Declared;
  fields: Partial<Record<'title' | 'metadata' | 'external_id' | 'content_type', string>>;
}

/** A pass-through that hashes, counts, keeps the first bytes and checks UTF-8, without holding the body. */
function inspector() {
  const hash = createHash('sha256');
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const head: Buffer[] = [];
  let headBytes = 0;
  let bytes = 0;
  let validUtf8 = true;
  let hasNul = false;
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      if (headBytes < HEAD_BYTES) {
        head.push(chunk.subarray(0, HEAD_BYTES - headBytes));
        headBytes += Math.min(chunk.length, HEAD_BYTES - headBytes);
      }
      if (!hasNul && chunk.includes(0)) hasNul = true;
      if (validUtf8) {
        try {
          decoder.decode(chunk, { stream: true });
        } catch {
          validUtf8 = false;
        }
      }
      done(null, chunk);
    },
    flush(done) {
      if (validUtf8) {
        try {
          decoder.decode();
        } catch {
          validUtf8 = false;
        }
      }
      done();
    },
  });
  return {
    transform,
    result: () => ({
      bytes,
      hash: hash.digest('hex'),
      observed: { head: Buffer.concat(head), validUtf8, hasNul },
    }),
  };
}

/** Streams `source` into the object store under `name` through the inspector. */
export async function storeStream(
  store: UploadStore,
  name: string,
  source: NodeJS.ReadableStream,
  limit = Number.POSITIVE_INFINITY,
): Promise<Omit<Received, 'declared' | 'fields'>> {
  const inspect = inspector();
  const piped = (source as Readable).pipe(inspect.transform);
  (source as Readable).once('error', (error) => piped.destroy(error));
  // Busboy ends a file at the size limit as if it were complete: fail the store instead, which discards it.
  (source as Readable).once('limit', () => piped.destroy(tooLarge(limit)));
  try {
    await store.put(name, Readable.toWeb(piped) as ReadableStream<Uint8Array>);
  } catch (error) {
    // The client's own stream failing (too large, cut off) is theirs; anything else is the store's.
    const code = String((error as { code?: unknown } | null)?.code ?? '');
    if (isAppError(error) || code.startsWith('FST_') || code.startsWith('ERR_STREAM')) throw error;
    throw unavailable('the upload store is unavailable', 2, error);
  }
  return inspect.result();
}

/**
 * Reads a `multipart/form-data` upload: one `file` part, streamed straight into the object store (at most
 * `limit` bytes: beyond, the stream is cut and 413 answered), and small text fields before or after it.
 * Nothing of the file is held in memory beyond the stream's buffers.
 */
export async function receiveMultipart(
  request: FastifyRequest,
  store: UploadStore,
  name: string,
  limit: number,
): Promise<Received> {
  const fields: Received['fields'] = {};
  let file: (Omit<Received, 'declared' | 'fields'> & { declared: Declared }) | null = null;
  const parts = request.parts({
    limits: { fileSize: limit, files: 1, fields: 8, fieldSize: 32_768, parts: 10, headerPairs: 100 },
  });
  try {
    for await (const part of parts) {
      if (part.type === 'file') {
        if (part.fieldname !== 'file' || file) {
          part.file.resume();
          throw invalid(`body.${part.fieldname}: only one file part, named "file", is accepted`);
        }
        const stored = await storeStream(store, name, part.file, limit);
        file = { ...stored, declared: { type: part.mimetype || null, filename: part.filename || null } };
      } else {
        if (!TEXT_FIELDS.has(part.fieldname)) throw invalid(`body.${part.fieldname}: unknown field`);
        if (typeof part.value !== 'string') throw invalid(`body.${part.fieldname}: must be text`);
        fields[part.fieldname as keyof Received['fields']] = part.value;
      }
    }
  } catch (error) {
    if (file) await store.remove(name).catch(() => undefined);
    throw asClientError(error, limit);
  }
  if (!file) throw invalid('body.file: a multipart upload needs a "file" part');
  return { ...file, fields };
}

function tooLarge(limit: number): AppError {
  return new AppError(
    'payload-too-large',
    `the file is larger than this workspace's upload limit of ${limit} bytes`,
  );
}

/** Multipart and stream failures as the 4xx a client can act on; others pass through. */
function asClientError(error: unknown, limit: number): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'FST_REQ_FILE_TOO_LARGE') return tooLarge(limit);
  if (typeof code === 'string' && code.startsWith('FST_') && code !== 'FST_INVALID_MULTIPART_CONTENT_TYPE') {
    return invalid(`body: ${(error as Error).message}`);
  }
  if (
    error instanceof Error &&
    /Unexpected end of form|Malformed part header|Multipart: Boundary not found/i.test(error.message)
  ) {
    return invalid(`body: malformed multipart upload (${error.message})`);
  }
  return error;
}
