import {
  closeSync,
  fdatasync,
  fsyncSync,
  openSync,
  readFileSync,
  truncateSync,
  write,
  writeSync,
} from 'node:fs';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';

const writeAsync = promisify(write);
const datasyncAsync = promisify(fdatasync);

/** Files start with an 8-byte magic; each record is [u32 length][u32 crc32 of body][body]. */
export const LOG_MAGIC = Buffer.from('QLWAL01\n');
export const SNAPSHOT_MAGIC = Buffer.from('QLSNP01\n');
const RECORD_HEADER = 8;

export function frame(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(RECORD_HEADER + body.length);
  out.writeUInt32LE(body.length, 0);
  out.writeUInt32LE(crc32(body), 4);
  body.copy(out, RECORD_HEADER);
  return out;
}

export interface LogContents {
  records: Buffer[];
  /** Bytes up to the end of the last intact record. */
  validBytes: number;
  /** True when the file ends in a partial or corrupt record (a write torn by a crash). */
  torn: boolean;
}

export function readLog(path: string, magic: Buffer): LogContents {
  const data = readFileSync(path);
  if (data.length < magic.length || !data.subarray(0, magic.length).equals(magic)) {
    return { records: [], validBytes: 0, torn: data.length > 0 };
  }
  const records: Buffer[] = [];
  let offset = magic.length;
  while (offset < data.length) {
    if (offset + RECORD_HEADER > data.length) break;
    const length = data.readUInt32LE(offset);
    const end = offset + RECORD_HEADER + length;
    if (end > data.length) break;
    const body = data.subarray(offset + RECORD_HEADER, end);
    if (crc32(body) !== data.readUInt32LE(offset + 4)) break;
    records.push(body);
    offset = end;
  }
  return { records, validBytes: offset, torn: offset < data.length };
}

/** Cuts a torn tail off so new records are appended after the last intact one. */
export function truncateLog(path: string, validBytes: number): void {
  truncateSync(path, validBytes);
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface LogWriter {
  /** Resolves once the record is on disk (written and fdatasync'ed); records are written in call order. */
  append(body: Buffer): Promise<void>;
  readonly bytes: number;
  /** Waits for every queued record, then closes the file. */
  close(): Promise<void>;
}

interface Pending {
  data: Buffer;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Opens (or creates) an append-only log. Writes are group-committed: records queued while a write and fdatasync are
 * in flight go out together in the next one, so concurrent writers share the cost of a sync.
 */
export function openLogWriter(path: string, magic: Buffer, existingBytes: number): LogWriter {
  const fd = openSync(path, existingBytes > 0 ? 'a' : 'w');
  let bytes = existingBytes;
  if (existingBytes === 0) {
    writeSync(fd, magic);
    fsyncSync(fd);
    bytes = magic.length;
  }
  let queue: Pending[] = [];
  let running: Promise<void> | undefined;
  let closed = false;

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      const data = batch.length === 1 ? (batch[0] as Pending).data : Buffer.concat(batch.map((p) => p.data));
      try {
        let written = 0;
        while (written < data.length) {
          written += (await writeAsync(fd, data, written, data.length - written)).bytesWritten;
        }
        await datasyncAsync(fd);
        for (const p of batch) p.resolve();
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
    running = undefined;
  }

  return {
    get bytes() {
      return bytes;
    },
    append(body) {
      if (closed) return Promise.reject(new Error('write-ahead log is closed'));
      const data = frame(body);
      bytes += data.length;
      return new Promise<void>((resolve, reject) => {
        queue.push({ data, resolve, reject });
        running ??= drain();
      });
    },
    async close() {
      closed = true;
      while (running) await running;
      closeSync(fd);
    },
  };
}
