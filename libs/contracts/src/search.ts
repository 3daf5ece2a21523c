import { type Static, Type } from '@sinclair/typebox';
import { DocumentId } from './common.js';

/** Metadata filter values: a scalar to match, or `{in: [...]}` for any of several. */
const Scalar = Type.Union([Type.String({ maxLength: 256 }), Type.Number(), Type.Boolean()]);
export const MetadataCondition = Type.Union([
  Scalar,
  Type.Object({ in: Type.Array(Scalar, { minItems: 1, maxItems: 100 }) }, { additionalProperties: false }),
]);

/** The filter of a search request, and of a search token (ANDed into every query made with it). */
export const SearchFilter = Type.Object(
  {
    metadata: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$' }), MetadataCondition, {
        maxProperties: 20,
      }),
    ),
    document_ids: Type.Optional(Type.Array(DocumentId, { minItems: 1, maxItems: 100, uniqueItems: true })),
  },
  { additionalProperties: false },
);
export type SearchFilter = Static<typeof SearchFilter>;

export const CreateSearchToken = Type.Object(
  {
    expires_in: Type.Optional(Type.Integer({ minimum: 1, maximum: 3_600, default: 900 })),
    filter: Type.Optional(SearchFilter),
  },
  { additionalProperties: false },
);
export const SearchToken = Type.Object({
  token: Type.String(),
  expires_at: Type.String({ format: 'date-time' }),
});

export const SEARCH_MODES = ['hybrid', 'dense', 'sparse'] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];

/** Longest query accepted, in characters. */
export const MAX_QUERY_LENGTH = 2_000;

/** `POST /v1/search`. */
export const SearchRequest = Type.Object(
  {
    query: Type.String({ minLength: 1, maxLength: MAX_QUERY_LENGTH, pattern: '\\S' }),
    top_k: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
    mode: Type.Optional(
      Type.Union(
        SEARCH_MODES.map((mode) => Type.Literal(mode)),
        { default: 'hybrid' },
      ),
    ),
    filter: Type.Optional(SearchFilter),
  },
  { additionalProperties: false },
);
export type SearchRequest = Static<typeof SearchRequest>;

/**
 * The `search.query` message: the client's request plus, for search tokens, the token's own filter, which
 * the search service ANDs with the request's (the gateway sets it from the verified token, never the body).
 */
export const SearchQuery = Type.Object(
  {
    query: SearchRequest.properties.query,
    top_k: Type.Integer({ minimum: 1, maximum: 100 }),
    mode: Type.Union(SEARCH_MODES.map((mode) => Type.Literal(mode))),
    filter: Type.Union([SearchFilter, Type.Null()]),
    restrict: Type.Union([SearchFilter, Type.Null()]),
  },
  { additionalProperties: false },
);
export type SearchQuery = Static<typeof SearchQuery>;

export const SearchResult = Type.Object({
  document_id: DocumentId,
  chunk_id: Type.String(),
  score: Type.Number(),
  text: Type.String(),
  title: Type.Union([Type.String(), Type.Null()]),
  metadata: Type.Record(Type.String(), Type.Unknown()),
});

export const SearchResponse = Type.Object({ results: Type.Array(SearchResult), took_ms: Type.Number() });
export type SearchResponse = Static<typeof SearchResponse>;
