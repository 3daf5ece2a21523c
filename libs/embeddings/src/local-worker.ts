import { parentPort } from 'node:worker_threads';
import { embedInto } from './local.js';
import type { ThreadReply, ThreadRequest } from './threads.js';

/**
 * A thread of the local embedder's pool (threads.ts): embeds each batch it is sent into one buffer, handed
 * back without copying.
 */
const port = parentPort;
if (!port) throw new Error('local-worker.ts runs as a worker thread');
port.on('message', (request: ThreadRequest) => {
  const buffer = new ArrayBuffer(request.texts.length * request.dimension * Float64Array.BYTES_PER_ELEMENT);
  try {
    const vectors = new Float64Array(buffer);
    request.texts.forEach((text, i) => {
      embedInto(text, request.dimension, vectors, i * request.dimension);
    });
    const reply: ThreadReply = { id: request.id, vectors };
    port.postMessage(reply, [buffer]);
  } catch (error) {
    const reply: ThreadReply = { id: request.id, error: String((error as Error)?.message ?? error) };
    port.postMessage(reply);
  }
});
