import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { RawBody } from './context.js';
import type { Engine } from './engine.js';
import { QdrantError } from './errors.js';
import { matchRoute } from './routes.js';

export interface HttpOptions {
  engine: Engine;
  apiKey?: string | undefined;
  /** Bodies above this size are refused with 413. */
  maxBodyBytes?: number;
}

/** Qdrant's default `service.max_request_size_mb` is 32. */
const DEFAULT_MAX_BODY = 32 * 1024 * 1024;

/** Paths Qdrant serves without an API key (its actix whitelist). */
function isPublic(path: string): boolean {
  return path === '/' || path === '/healthz' || path.startsWith('/readyz') || path.startsWith('/livez');
}

function keyMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

function providedKey(req: IncomingMessage): string | undefined {
  const header = req.headers['api-key'];
  if (typeof header === 'string') return header;
  const auth = req.headers.authorization;
  return auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) : undefined;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLarge());
        req.pause();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function handle(req: IncomingMessage, res: ServerResponse, options: HttpOptions): Promise<void> {
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
  if (options.apiKey !== undefined && !isPublic(path) && !keyMatches(options.apiKey, providedKey(req))) {
    const message =
      providedKey(req) === undefined
        ? 'Must provide an API key or an Authorization bearer token'
        : 'Invalid API key or JWT';
    sendText(res, 401, message);
    return;
  }
  if (req.method === 'GET' && (path === '/healthz' || path === '/livez' || path === '/readyz')) {
    sendText(res, 200, `${path.slice(1)} check passed`);
    return;
  }
  try {
    const match = matchRoute(req.method ?? 'GET', path);
    const raw = await readBody(req, options.maxBodyBytes ?? DEFAULT_MAX_BODY);
    if (!match) throw new QdrantError(404, `Not found: no route for ${req.method} ${path}`);
    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch (error) {
        throw new QdrantError(400, `Json deserialize error: ${(error as Error).message}`);
      }
    }
    const result = await match.handler({
      engine: options.engine,
      params: match.params,
      query: url.searchParams,
      body,
    });
    if (result instanceof RawBody) sendJson(res, 200, result.body);
    else sendJson(res, 200, { result, status: 'ok', time: elapsed() });
  } catch (error) {
    if (error instanceof BodyTooLarge) {
      res.setHeader('connection', 'close');
      sendJson(res, 413, {
        status: {
          error: `Payload too large: the limit is ${options.maxBodyBytes ?? DEFAULT_MAX_BODY} bytes`,
        },
        time: elapsed(),
      });
      return;
    }
    if (error instanceof QdrantError) {
      sendJson(res, error.status, { status: { error: error.message }, time: elapsed() });
      return;
    }
    console.error('qdrant-local: request failed', error);
    sendJson(res, 500, {
      status: { error: `Service internal error: ${(error as Error).message}` },
      time: elapsed(),
    });
  }
}

export function createHttpServer(options: HttpOptions): Server {
  return createServer((req, res) => {
    handle(req, res, options).catch((error: unknown) => {
      console.error('qdrant-local: response failed', error);
      if (!res.headersSent) sendJson(res, 500, { status: { error: 'Service internal error' } });
      else res.destroy();
    });
  });
}
