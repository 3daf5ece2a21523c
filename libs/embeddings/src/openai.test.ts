import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError } from '@kb/errors';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEmbedder } from './config.js';
import { createOpenAiEmbedder } from './openai.js';

/** A small OpenAI-compatible server whose behaviour each test scripts. */
type Behaviour = (
  body: { model: string; input: string[] },
  req: IncomingMessage,
  res: ServerResponse,
) => void;

let server: Server;
let baseUrl: string;
let behaviour: Behaviour;
let requests: { model: string; input: string[]; authorization: string | undefined }[] = [];

const vectorFor = (text: string, dimension: number) =>
  Array.from({ length: dimension }, (_, i) => ((text.length + i) % 7) / 7);

const answer =
  (dimension: number): Behaviour =>
  (body, _req, res) => {
    res.setHeader('content-type', 'application/json');
    // Out of order on purpose: clients must sort by index.
    const data = body.input.map((text, index) => ({
      object: 'embedding',
      index,
      embedding: vectorFor(text, dimension),
    }));
    res.end(JSON.stringify({ object: 'list', data: data.reverse(), model: body.model }));
  };

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => {
      raw += chunk;
    });
    req.on('end', () => {
      const body = JSON.parse(raw) as { model: string; input: string[] };
      requests.push({ ...body, authorization: req.headers.authorization });
      behaviour(body, req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  requests = [];
  behaviour = answer(4);
});

describe('OpenAI-compatible embedder', () => {
  it('batches, sends the model and key, and returns vectors in input order', async () => {
    const embedder = createOpenAiEmbedder({
      baseUrl: `${baseUrl}/`,
      model: 'm1',
      dimension: 4,
      apiKey: 'sk-test',
      batchSize: 2,
    });
    const texts = ['a', 'bb', 'ccc', 'dddd', ''];
    const vectors = await embedder.embed(texts);
    expect(vectors).toEqual(texts.map((t) => vectorFor(t === '' ? ' ' : t, 4)));
    expect(requests.map((r) => r.input.length)).toEqual([2, 2, 1]);
    expect(requests.every((r) => r.model === 'm1' && r.authorization === 'Bearer sk-test')).toBe(true);
    expect(embedder.id).toBe('openai:m1');
    expect(embedder.dimension).toBe(4);
  });

  it('retries transient failures (5xx, 429 with Retry-After) and then succeeds', async () => {
    let calls = 0;
    behaviour = (body, req, res) => {
      calls += 1;
      if (calls === 1) {
        res.statusCode = 503;
        return res.end('{"error":{"message":"overloaded"}}');
      }
      if (calls === 2) {
        res.statusCode = 429;
        res.setHeader('retry-after', '0');
        return res.end('{"error":"slow down"}');
      }
      answer(4)(body, req, res);
    };
    const embedder = createOpenAiEmbedder({ baseUrl, model: 'm', dimension: 4, retries: 3 });
    expect(await embedder.embed(['x'])).toHaveLength(1);
    expect(calls).toBe(3);
  });

  it('gives up after its retries with a retryable error naming the provider status', async () => {
    behaviour = (_body, _req, res) => {
      res.statusCode = 500;
      res.end('{"error":{"message":"boom"}}');
    };
    const embedder = createOpenAiEmbedder({ baseUrl, model: 'm', dimension: 4, retries: 2 });
    const error = await embedder.embed(['x']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).retryable).toBe(true);
    expect((error as AppError).message).toMatch(/500: boom/);
    expect(requests).toHaveLength(3);
  });

  it('does not retry a refused input', async () => {
    behaviour = (_body, _req, res) => {
      res.statusCode = 400;
      res.end('{"error":{"message":"input too long"}}');
    };
    const embedder = createOpenAiEmbedder({ baseUrl, model: 'm', dimension: 4, retries: 3 });
    const error = (await embedder.embed(['x']).catch((e: unknown) => e)) as AppError;
    expect(error.code).toBe('invalid-request');
    expect(error.retryable).toBe(false);
    expect(requests).toHaveLength(1);
  });

  it('times out a request that hangs, then retries it', async () => {
    let calls = 0;
    behaviour = (body, req, res) => {
      calls += 1;
      if (calls === 1) return; // never answers
      answer(4)(body, req, res);
    };
    const embedder = createOpenAiEmbedder({ baseUrl, model: 'm', dimension: 4, timeoutMs: 200, retries: 1 });
    const started = Date.now();
    expect(await embedder.embed(['x'])).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(calls).toBe(2);
  });

  it('refuses answers of the wrong dimension or count, without retrying', async () => {
    behaviour = answer(3);
    const wrongDimension = createOpenAiEmbedder({ baseUrl, model: 'm', dimension: 4 });
    await expect(wrongDimension.embed(['x'])).rejects.toThrow(/3 dimensions but KB_EMBEDDING_DIMENSION is 4/);
    expect(requests).toHaveLength(1);
    behaviour = (_body, _req, res) => res.end('{"data":[]}');
    await expect(wrongDimension.embed(['x'])).rejects.toThrow(/0 embeddings for 1 inputs/);
  });

  it('reports an unreachable provider as unavailable', async () => {
    const embedder = createOpenAiEmbedder({
      baseUrl: 'http://127.0.0.1:1/v1',
      model: 'm',
      dimension: 4,
      retries: 0,
    });
    const error = (await embedder.embed(['x']).catch((e: unknown) => e)) as AppError;
    expect(error.code).toBe('service-unavailable');
    expect(error.message).toMatch(/unreachable/);
  });

  it('stops when the caller aborts', async () => {
    behaviour = () => undefined;
    const embedder = createOpenAiEmbedder({ baseUrl, model: 'm', dimension: 4, timeoutMs: 10_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('shutting down')), 50);
    await expect(embedder.embed(['x'], { signal: controller.signal })).rejects.toThrow(/shutting down/);
  });

  it('is chosen by configuration', async () => {
    const remote = createEmbedder({
      KB_EMBEDDER: 'openai',
      KB_EMBEDDING_DIMENSION: 4,
      KB_EMBEDDING_URL: baseUrl,
      KB_EMBEDDING_MODEL: 'm',
    });
    expect(await remote.embed(['x'])).toEqual([vectorFor('x', 4)]);
    expect(createEmbedder({ KB_EMBEDDER: 'local', KB_EMBEDDING_DIMENSION: 32 }).dimension).toBe(32);
    expect(() => createEmbedder({ KB_EMBEDDER: 'openai', KB_EMBEDDING_DIMENSION: 4 })).toThrow(
      /KB_EMBEDDING_URL/,
    );
  });
});
