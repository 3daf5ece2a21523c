import {
  collectionExists,
  createCollection,
  createFieldIndex,
  deleteCollection,
  deleteFieldIndex,
  getCollection,
  listCollections,
  updateCollection,
} from './collections.js';
import { type Handler, RawBody } from './context.js';
import {
  batchUpdate,
  clearPayload,
  countPoints,
  deletePayload,
  deletePoints,
  getPoint,
  overwritePayload,
  retrievePoints,
  scrollPoints,
  setPayload,
  upsertPoints,
} from './points.js';
import { queryBatch, queryPoints } from './query.js';

/** The version reported by `GET /`; the client warns unless major.minor is within one of its own (1.18). */
export const QDRANT_COMPAT_VERSION = '1.18.0';

/** `GET /` answers Qdrant's VersionInfo without the envelope; the client reads `version` from it. */
const root: Handler = () =>
  new RawBody({ title: 'qdrant - vector search engine', version: QDRANT_COMPAT_VERSION, commit: null });
const noAliases: Handler = () => ({ aliases: [] });

const C = '/collections/{collection}';

/** The part of Qdrant's REST API the engine serves (paths as in Qdrant's OpenAPI document). */
const TABLE: [string, string, Handler][] = [
  ['GET', '/', root],
  ['GET', '/collections', listCollections],
  ['GET', '/aliases', noAliases],
  ['GET', C, getCollection],
  ['PUT', C, createCollection],
  ['DELETE', C, deleteCollection],
  ['PATCH', C, updateCollection],
  ['GET', `${C}/exists`, collectionExists],
  ['GET', `${C}/aliases`, noAliases],
  ['PUT', `${C}/index`, createFieldIndex],
  ['DELETE', `${C}/index/{field}`, deleteFieldIndex],
  ['PUT', `${C}/points`, upsertPoints],
  ['POST', `${C}/points`, retrievePoints],
  ['POST', `${C}/points/delete`, deletePoints],
  ['POST', `${C}/points/payload`, setPayload],
  ['PUT', `${C}/points/payload`, overwritePayload],
  ['POST', `${C}/points/payload/delete`, deletePayload],
  ['POST', `${C}/points/payload/clear`, clearPayload],
  ['POST', `${C}/points/batch`, batchUpdate],
  ['POST', `${C}/points/scroll`, scrollPoints],
  ['POST', `${C}/points/count`, countPoints],
  ['POST', `${C}/points/query`, queryPoints],
  ['POST', `${C}/points/query/batch`, queryBatch],
  ['GET', `${C}/points/{id}`, getPoint],
];

interface Route {
  method: string;
  segments: string[];
  handler: Handler;
}

const ROUTES: Route[] = TABLE.map(([method, path, handler]) => ({
  method,
  segments: path.split('/').filter(Boolean),
  handler,
}));

export interface RouteMatch {
  handler: Handler;
  params: Record<string, string>;
}

export function matchRoute(method: string, pathname: string): RouteMatch | undefined {
  const parts = pathname.split('/').filter(Boolean);
  for (const route of ROUTES) {
    if (route.method !== method || route.segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      const segment = route.segments[i] as string;
      const part = parts[i] as string;
      if (segment.startsWith('{')) {
        try {
          params[segment.slice(1, -1)] = decodeURIComponent(part);
        } catch {
          ok = false;
        }
      } else {
        ok = segment === part;
      }
    }
    if (ok) return { handler: route.handler, params };
  }
  return undefined;
}
