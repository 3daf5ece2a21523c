/** A dense text embedder: the same text always gives the same vector of `dimension` numbers. */
export interface DenseEmbedder {
  /** Names the provider and model, e.g. `local-hash-v1` or `openai:text-embedding-3-small`. */
  readonly id: string;
  readonly dimension: number;
  embed(texts: string[], options?: { signal?: AbortSignal }): Promise<number[][]>;
  /** Releases what the embedder holds (threads); a later `embed` acquires it again. */
  close?(): Promise<void>;
}

/** A sparse vector as Qdrant takes it: ascending unique `indices` with their `values`. */
export interface SparseVector {
  indices: number[];
  values: number[];
}

/** BM25-style term weights for hybrid search; documents and queries are weighted differently. */
export interface SparseEncoder {
  document(text: string): SparseVector;
  query(text: string): SparseVector;
}
