import type { Bits } from './bitset.js';
import type { DenseParams } from './config.js';
import type { TopK } from './ranking.js';
import { kernelBytes } from './simd-dot.js';
import { denseScore, smallBetter } from './vectors.js';

/** The few WebAssembly APIs used here (the project's TypeScript lib has no DOM typings). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => WasmMemory;
}
type Dots = (query: number, data: number, dim: number, slots: number, count: number, out: number) => void;

const PAGE = 65536;
/** Slots scored per kernel call. */
export const BATCH = 2048;
/** Smaller stores stay in a plain Float32Array: scanning them is quick anyway, and each memory reserves address space. */
export const KERNEL_MIN_FLOATS = 1 << 16;

const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
let compiled: object | null | undefined;

function kernelModule(): object | null {
  if (compiled === undefined) {
    const bytes = kernelBytes();
    compiled = wasm?.validate(bytes) ? new wasm.Module(bytes) : null;
  }
  return compiled;
}

/** Vectors in WebAssembly memory: [query as float64 | slot list | scores | vectors], views rebuilt on growth. */
interface Kernel {
  memory: WasmMemory;
  dots: Dots;
  slotsOffset: number;
  outOffset: number;
  dataOffset: number;
  query: Float64Array;
  slots: Int32Array;
  out: Float32Array;
}

/** One named dense vector of a collection: every point's vector in one contiguous Float32Array, by slot. */
export interface DenseStore {
  params: DenseParams;
  data: Float32Array;
  has: Uint8Array;
  kernel: Kernel | undefined;
}

export function createDenseStore(params: DenseParams, capacity: number): DenseStore {
  const store: DenseStore = { params, data: new Float32Array(0), has: new Uint8Array(0), kernel: undefined };
  growDenseStore(store, capacity);
  return store;
}

function refreshViews(store: DenseStore, k: Kernel, capacity: number): void {
  const buffer = k.memory.buffer;
  k.query = new Float64Array(buffer, 0, store.params.size);
  k.slots = new Int32Array(buffer, k.slotsOffset, BATCH);
  k.out = new Float32Array(buffer, k.outOffset, BATCH);
  store.data = new Float32Array(buffer, k.dataOffset, capacity * store.params.size);
}

/** Moves the vectors into a new WebAssembly memory; undefined when WebAssembly SIMD is unavailable. */
function createKernel(store: DenseStore, capacity: number): Kernel | undefined {
  const module = kernelModule();
  if (!wasm || !module) return undefined;
  const slotsOffset = store.params.size * 8;
  const outOffset = slotsOffset + BATCH * 4;
  const dataOffset = Math.ceil((outOffset + BATCH * 4) / 16) * 16;
  const bytes = dataOffset + capacity * store.params.size * 4;
  let memory: WasmMemory;
  try {
    memory = new wasm.Memory({ initial: Math.ceil(bytes / PAGE) });
  } catch {
    return undefined;
  }
  const dots = new wasm.Instance(module, { env: { memory } }).exports.dots as Dots;
  const views = { query: new Float64Array(0), slots: new Int32Array(0), out: new Float32Array(0) };
  const k: Kernel = { memory, dots, slotsOffset, outOffset, dataOffset, ...views };
  const old = store.data;
  refreshViews(store, k, capacity);
  store.data.set(old);
  return k;
}

function growKernel(store: DenseStore, k: Kernel, capacity: number): boolean {
  const bytes = k.dataOffset + capacity * store.params.size * 4;
  const pages = Math.ceil(bytes / PAGE) - k.memory.buffer.byteLength / PAGE;
  try {
    if (pages > 0) k.memory.grow(pages);
  } catch {
    return false;
  }
  refreshViews(store, k, capacity);
  return true;
}

/** Makes room for `capacity` points, keeping every stored vector. */
export function growDenseStore(store: DenseStore, capacity: number): void {
  const has = new Uint8Array(capacity);
  has.set(store.has);
  store.has = has;
  const floats = capacity * store.params.size;
  if (store.kernel && growKernel(store, store.kernel, capacity)) return;
  if (!store.kernel && floats >= KERNEL_MIN_FLOATS) {
    store.kernel = createKernel(store, capacity);
    if (store.kernel) return;
  }
  // Plain memory: below the kernel's threshold, without WebAssembly, or past what a memory can hold.
  store.kernel = undefined;
  const data = new Float32Array(floats);
  data.set(store.data);
  store.data = data;
}

const jsSlots = new Int32Array(BATCH);
const jsOut = new Float32Array(BATCH);

function scoreBatch(store: DenseStore, query: Float32Array, count: number): void {
  const k = store.kernel;
  const { distance, size } = store.params;
  if (k && (distance === 'Cosine' || distance === 'Dot')) {
    k.dots(0, k.dataOffset, size, k.slotsOffset, count, k.outOffset);
    return;
  }
  const slots = k ? k.slots : jsSlots;
  const out = k ? k.out : jsOut;
  for (let j = 0; j < count; j++)
    out[j] = denseScore(distance, query, store.data, (slots[j] as number) * size);
}

/**
 * Scores every slot of `bits` holding this vector and offers each score within `threshold` to `top`. The query
 * is already prepared (normalised for Cosine).
 */
export function denseSearch(
  store: DenseStore,
  query: Float32Array,
  bits: Bits,
  top: TopK,
  threshold: number | undefined,
): void {
  const k = store.kernel;
  if (k) k.query.set(query);
  const slots = k ? k.slots : jsSlots;
  const out = k ? k.out : jsOut;
  const small = smallBetter(store.params.distance);
  const has = store.has;
  const flush = (count: number) => {
    scoreBatch(store, query, count);
    for (let j = 0; j < count; j++) {
      const score = out[j] as number;
      if (threshold === undefined || (small ? score <= threshold : score >= threshold))
        top.push(slots[j] as number, score);
    }
  };
  let n = 0;
  for (let w = 0; w < bits.length; w++) {
    let word = bits[w] as number;
    while (word !== 0) {
      const low = word & -word;
      const slot = (w << 5) + 31 - Math.clz32(low);
      word ^= low;
      if (has[slot] !== 1) continue;
      slots[n++] = slot;
      if (n === BATCH) {
        flush(n);
        n = 0;
      }
    }
  }
  if (n > 0) flush(n);
}
