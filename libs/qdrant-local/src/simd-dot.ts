/**
 * A WebAssembly SIMD kernel for dot products, assembled here byte by byte so no toolchain is needed. It computes
 * exactly what `denseScore` computes in JavaScript for Cosine and Dot: products of float32 values summed in
 * float64 into four accumulators (element i goes to accumulator i % 4, the tail to the first), added up as
 * ((a0 + a1) + a2) + a3 and rounded to float32. The four accumulators are the lanes of two f64x2 registers, so
 * every addition happens in the same order as in JavaScript and the scores are bit-identical (a float32 product
 * is exact in float64). Each vector is one latency-bound chain of additions; scoring two vectors side by side
 * to overlap the chains was tried and ran slower under V8, so the kernel stays this simple.
 *
 * `dots(query, data, dim, slots, count, out)`: for k < count, out[k] = score of the vector at
 * data + slots[k] * dim * 4 against the float64 query; all arguments are byte offsets into the imported memory.
 */

// Opcodes from the WebAssembly 2.0 specification (core and the 0xfd-prefixed SIMD instructions).
const BLOCK = 0x02;
const LOOP = 0x03;
const BR = 0x0c;
const BR_IF = 0x0d;
const END = 0x0b;
const VOID = 0x40;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const I32_LOAD = 0x28;
const F32_LOAD = 0x2a;
const F64_LOAD = 0x2b;
const F32_STORE = 0x38;
const I32_CONST = 0x41;
const I32_EQZ = 0x45;
const I32_LT_U = 0x49;
const I32_ADD = 0x6a;
const I32_MUL = 0x6c;
const I32_AND = 0x71;
const I32_SHL = 0x74;
const F64_ADD = 0xa0;
const F64_MUL = 0xa2;
const F32_DEMOTE_F64 = 0xb6;
const F64_PROMOTE_F32 = 0xbb;
const SIMD = 0xfd;
const V128_LOAD = 0x00;
const V128_CONST = 0x0c;
const V128_LOAD64_ZERO = 0x5d;
const F64X2_EXTRACT_LANE = 0x21;
const F64X2_PROMOTE_LOW_F32X4 = 0x5f;
const F64X2_ADD = 0xf0;
const F64X2_MUL = 0xf2;
const I32 = 0x7f;
const F64 = 0x7c;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  let rest = n >>> 0;
  do {
    const byte = rest & 0x7f;
    rest >>>= 7;
    out.push(rest === 0 ? byte : byte | 0x80);
  } while (rest !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  let rest = n | 0;
  for (;;) {
    const byte = rest & 0x7f;
    rest >>= 7;
    if ((rest === 0 && (byte & 0x40) === 0) || (rest === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const name = (s: string) => vec([...Buffer.from(s)].map((b) => [b]));
const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];
const get = (local: number) => [LOCAL_GET, ...uleb(local)];
const set = (local: number) => [LOCAL_SET, ...uleb(local)];
const i32 = (n: number) => [I32_CONST, ...sleb(n)];
const simd = (op: number) => [SIMD, ...uleb(op)];
/** memarg: log2 alignment hint, offset */
const mem = (align: number, offset = 0) => [...uleb(align), ...uleb(offset)];
const lane = (n: number) => [...simd(F64X2_EXTRACT_LANE), n];
/** `while (local < limit) body` */
const whileBelow = (local: number, limit: number, body: number[]) => [
  ...[BLOCK, VOID, LOOP, VOID],
  ...[...get(local), ...get(limit), I32_LT_U, I32_EQZ, BR_IF, 1],
  ...body,
  ...[BR, 0, END, END],
];
const bump = (local: number, by: number) => [...get(local), ...i32(by), I32_ADD, ...set(local)];

// Parameters, then locals.
const [Q, DATA, DIM, SLOTS, COUNT, OUT] = [0, 1, 2, 3, 4, 5];
const [K, P, QP, STOP, LO, HI, ACC] = [6, 7, 8, 9, 10, 11, 12];
const LOCALS = [
  [4, I32],
  [2, V128],
  [1, F64],
];

/** local `to` = local `from` + (dim & mask) * 4: where the 4-float steps (mask ~3) or the tail (mask 3) end. */
const plusDim = (from: number, mask: number, to: number) => [
  ...[...get(from), ...get(DIM), ...i32(mask), I32_AND, ...i32(2), I32_SHL, I32_ADD, ...set(to)],
];
/** float32 pair at p + offset, widened to f64x2 */
const pair = (offset: number) => [
  ...get(P),
  ...simd(V128_LOAD64_ZERO),
  ...mem(2, offset),
  ...simd(F64X2_PROMOTE_LOW_F32X4),
];

function body(): number[] {
  const zero = [...simd(V128_CONST), ...new Array<number>(16).fill(0)];
  // p = data + slots[k] * dim * 4; qp = query; stop = p + (dim & ~3) * 4
  const start = [
    ...[...get(DATA), ...get(SLOTS), ...get(K), ...i32(2), I32_SHL, I32_ADD, I32_LOAD, ...mem(2)],
    ...[...get(DIM), I32_MUL, ...i32(2), I32_SHL, I32_ADD, ...set(P)],
    ...[...get(Q), ...set(QP)],
    ...plusDim(P, -4, STOP),
    ...[...zero, ...set(LO), ...zero, ...set(HI)],
  ];
  // lo += q[0..1] * d[0..1]; hi += q[2..3] * d[2..3] (four floats a step)
  const step = [
    ...[...get(LO), ...get(QP), ...simd(V128_LOAD), ...mem(3), ...pair(0)],
    ...[...simd(F64X2_MUL), ...simd(F64X2_ADD), ...set(LO)],
    ...[...get(HI), ...get(QP), ...simd(V128_LOAD), ...mem(3, 16), ...pair(8)],
    ...[...simd(F64X2_MUL), ...simd(F64X2_ADD), ...set(HI)],
    ...bump(P, 16),
    ...bump(QP, 32),
  ];
  // acc = lo[0] plus the last dim % 4 floats; out[k] = f32(((acc + lo[1]) + hi[0]) + hi[1])
  const finish = [
    ...[...get(LO), ...lane(0), ...set(ACC)],
    ...plusDim(P, 3, STOP),
    ...whileBelow(P, STOP, [
      ...[...get(ACC), ...get(QP), F64_LOAD, ...mem(3), ...get(P), F32_LOAD, ...mem(2), F64_PROMOTE_F32],
      ...[F64_MUL, F64_ADD, ...set(ACC)],
      ...bump(P, 4),
      ...bump(QP, 8),
    ]),
    ...[...get(OUT), ...get(K), ...i32(2), I32_SHL, I32_ADD],
    ...[...get(ACC), ...get(LO), ...lane(1), F64_ADD, ...get(HI), ...lane(0), F64_ADD],
    ...[...get(HI), ...lane(1), F64_ADD, F32_DEMOTE_F64, F32_STORE, ...mem(2)],
  ];
  return [
    ...i32(0),
    ...set(K),
    ...whileBelow(K, COUNT, [...start, ...whileBelow(P, STOP, step), ...finish, ...bump(K, 1)]),
    END,
  ];
}

export function kernelBytes(): Uint8Array {
  const locals = vec(LOCALS);
  const code = [...locals, ...body()];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32]]), 0]])),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, 0x00]])),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...name('dots'), 0x00, 0]])),
    ...section(10, vec([[...uleb(code.length), ...code]])),
  ]);
}
