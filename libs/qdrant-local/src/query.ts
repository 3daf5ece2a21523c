import type { Collection } from './collection.js';
import { vectorOutput } from './collection.js';
import { bodyObject, collectionOf, type Handler } from './context.js';
import { formatError } from './errors.js';
import { selectPayload } from './json-path.js';
import { executeQuery } from './query-exec.js';
import { parseQueryRequest, type QueryRequest } from './query-parse.js';
import { f32ToNumber } from './vectors.js';

function runQuery(c: Collection, request: QueryRequest) {
  return {
    points: executeQuery(c, request).map(({ slot, score }) => {
      const out: Record<string, unknown> = {
        id: c.ids[slot],
        version: c.versions[slot] ?? 0,
        score: f32ToNumber(score),
      };
      const payload = selectPayload(c.payloads[slot] ?? {}, request.withPayload);
      if (payload !== undefined) out.payload = payload;
      const vector = vectorOutput(c, slot, request.withVector);
      if (vector !== undefined) out.vector = vector;
      return out;
    }),
  };
}

export const queryPoints: Handler = (ctx) => {
  const c = collectionOf(ctx);
  return runQuery(c, parseQueryRequest(bodyObject(ctx)));
};

export const queryBatch: Handler = (ctx) => {
  const c = collectionOf(ctx);
  const body = bodyObject(ctx);
  if (!Array.isArray(body.searches)) throw formatError('`searches` must be a list of query requests');
  const requests = body.searches.map(parseQueryRequest);
  return requests.map((request) => runQuery(c, request));
};
