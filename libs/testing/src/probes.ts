import { connect } from 'node:net';

/**
 * Readiness probes: each connects, speaks just enough of the server's protocol to know it really answers,
 * and rejects otherwise. They never depend on client libraries, so the harness runs before anything else.
 */

type Verdict = 'more' | 'ready' | Error;

function talk(port: number, request: Buffer | null, judge: (received: Buffer) => Verdict, timeoutMs = 2000) {
  return new Promise<void>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = Buffer.alloc(0);
    const finish = (err?: Error) => {
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    socket.setTimeout(timeoutMs, () => finish(new Error(`no answer within ${timeoutMs} ms`)));
    socket.once('error', finish);
    socket.once('close', () => finish(new Error('connection closed before an answer')));
    socket.once('connect', () => {
      if (request) socket.write(request);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const verdict = judge(received);
      if (verdict === 'ready') finish();
      else if (verdict instanceof Error) finish(verdict);
    });
  });
}

/** NATS greets with `INFO {json}`; JetStream is usable once that JSON says `"jetstream":true`. */
export function probeNats(port: number, jetstream = true): Promise<void> {
  return talk(port, null, (buf) => {
    const text = buf.toString('utf8');
    const end = text.indexOf('\r\n');
    if (end < 0) return 'more';
    if (!text.startsWith('INFO ')) return new Error(`unexpected greeting: ${text.slice(0, 80)}`);
    const info = JSON.parse(text.slice(5, end)) as { jetstream?: boolean };
    if (jetstream && info.jetstream !== true) return new Error('JetStream not enabled yet');
    return 'ready';
  });
}

/** Redis answers `+PONG` once it has loaded its data (`-LOADING` before that). */
export function probeRedis(port: number): Promise<void> {
  return talk(port, Buffer.from('PING\r\n'), (buf) => {
    const text = buf.toString('utf8');
    if (!text.includes('\r\n')) return 'more';
    return text.startsWith('+PONG') ? 'ready' : new Error(`redis answered ${text.trim()}`);
  });
}

function cstring(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
}

/** BSON for `{ ping: 1, $db: 'admin' }`. */
function pingDocument(): Buffer {
  const one = Buffer.alloc(4);
  one.writeInt32LE(1);
  const db = cstring('admin');
  const dbLen = Buffer.alloc(4);
  dbLen.writeInt32LE(db.length);
  const body = Buffer.concat([
    Buffer.from([0x10]),
    cstring('ping'),
    one,
    Buffer.from([0x02]),
    cstring('$db'),
    dbLen,
    db,
    Buffer.from([0]),
  ]);
  const len = Buffer.alloc(4);
  len.writeInt32LE(body.length + 4);
  return Buffer.concat([len, body]);
}

const OP_MSG = 2013;

function opMsg(doc: Buffer, requestId: number): Buffer {
  const header = Buffer.alloc(21);
  header.writeInt32LE(16 + 4 + 1 + doc.length, 0);
  header.writeInt32LE(requestId, 4);
  header.writeInt32LE(0, 8);
  header.writeInt32LE(OP_MSG, 12);
  header.writeUInt32LE(0, 16); // flag bits
  header.writeUInt8(0, 20); // section kind 0: the body document
  return Buffer.concat([header, doc]);
}

/** Reads the top-level numeric `ok` field of a BSON document; undefined when absent or unreadable. */
export function bsonOk(doc: Buffer): number | undefined {
  const fixed: Record<number, number> = { 1: 8, 7: 12, 8: 1, 9: 8, 10: 0, 16: 4, 17: 8, 18: 8, 19: 16 };
  let at = 4;
  while (at < doc.length - 1) {
    const type = doc.readUInt8(at);
    const nameEnd = doc.indexOf(0, at + 1);
    if (type === 0 || nameEnd < 0) return undefined;
    const name = doc.toString('utf8', at + 1, nameEnd);
    at = nameEnd + 1;
    if (name === 'ok') {
      if (type === 0x01) return doc.readDoubleLE(at);
      if (type === 0x10) return doc.readInt32LE(at);
      if (type === 0x12) return Number(doc.readBigInt64LE(at));
      if (type === 0x08) return doc.readUInt8(at);
      return undefined;
    }
    const size = fixed[type];
    if (size !== undefined) at += size;
    else if (type === 0x02) at += 4 + doc.readInt32LE(at);
    else if (type === 0x03 || type === 0x04) at += doc.readInt32LE(at);
    else if (type === 0x05) at += 5 + doc.readInt32LE(at);
    else return undefined;
  }
  return undefined;
}

/** A MongoDB-wire server (FerretDB here) answers an OP_MSG `ping` with `ok: 1`. */
export function probeMongo(port: number): Promise<void> {
  return talk(port, opMsg(pingDocument(), 1), (buf) => {
    if (buf.length < 4) return 'more';
    const total = buf.readInt32LE(0);
    if (buf.length < total) return 'more';
    if (buf.readInt32LE(12) !== OP_MSG || buf.readUInt8(20) !== 0) return new Error('unexpected wire reply');
    const ok = bsonOk(buf.subarray(21, total));
    return ok === 1 ? 'ready' : new Error(`ping answered ok=${String(ok)}`);
  });
}
