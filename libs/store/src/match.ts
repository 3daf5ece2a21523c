/**
 * MongoDB filter semantics, for the subset the id-based paths of `scoped.ts` evaluate in this process (a
 * document read by `_id`, then checked here, instead of a filter FerretDB v1 answers by reading its whole
 * collection). `compileFilter` answers null for anything outside the subset, and the caller then sends the
 * filter to the database as it is, so an unsupported filter is slower, never wrong.
 *
 * Supported: top-level fields, plain values (string, number, boolean, null, Date) compared for equality,
 * `$eq $ne $in $nin $lt $lte $gt $gte $exists`, and `$and $or $nor`. As in MongoDB, an array field matches
 * when any element does (`$ne`/`$nin`: when none does), `null` matches a missing field, ordering compares
 * only values of the same kind (numbers, strings by their UTF-8 bytes, dates). Dotted paths are outside the
 * subset (MongoDB's traversal of arrays on the way is not reproduced).
 */
export type Matcher = (doc: Record<string, unknown>) => boolean;

type Scalar = string | number | boolean | null | Date;

const isScalar = (value: unknown): value is Scalar =>
  value === null ||
  typeof value === 'string' ||
  typeof value === 'boolean' ||
  (typeof value === 'number' && !Number.isNaN(value)) ||
  (value instanceof Date && !Number.isNaN(value.getTime()));

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;

function equals(a: unknown, b: Scalar): boolean {
  if (b === null) return a === null || a === undefined;
  if (b instanceof Date) return a instanceof Date && a.getTime() === b.getTime();
  return a === b;
}

/** An array field matches when one of its elements does (or, for null, when it holds null). */
const anyValue = (value: unknown, test: (v: unknown) => boolean): boolean =>
  Array.isArray(value) ? value.some(test) : test(value);

function compare(a: unknown, b: Scalar): number | null {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return Buffer.compare(Buffer.from(a), Buffer.from(b));
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
  return null;
}

const ORDER: Record<string, (difference: number) => boolean> = {
  $lt: (d) => d < 0,
  $lte: (d) => d <= 0,
  $gt: (d) => d > 0,
  $gte: (d) => d >= 0,
};

function operator(op: string, operand: unknown): ((value: unknown) => boolean) | null {
  if (op === '$eq' || op === '$ne') {
    if (!isScalar(operand)) return null;
    const eq = (value: unknown) => anyValue(value, (v) => equals(v, operand));
    return op === '$eq' ? eq : (value) => !eq(value);
  }
  if (op === '$in' || op === '$nin') {
    if (!Array.isArray(operand) || !operand.every(isScalar)) return null;
    const hit = (value: unknown) => operand.some((o) => anyValue(value, (v) => equals(v, o)));
    return op === '$in' ? hit : (value) => !hit(value);
  }
  const order = ORDER[op];
  if (order) {
    if (!isScalar(operand) || operand === null || typeof operand === 'boolean') return null;
    return (value) =>
      anyValue(value, (v) => {
        const difference = compare(v, operand);
        return difference !== null && order(difference);
      });
  }
  if (op === '$exists') {
    if (typeof operand !== 'boolean') return null;
    return (value) => (value !== undefined) === operand;
  }
  return null;
}

function fieldCondition(field: string, condition: unknown): Matcher | null {
  if (field === '' || field.includes('.')) return null;
  let test: ((value: unknown) => boolean) | null;
  if (isPlainObject(condition) && Object.keys(condition).some((key) => key.startsWith('$'))) {
    const tests = Object.entries(condition).map(([op, operand]) => operator(op, operand));
    if (tests.some((t) => t === null)) return null;
    test = (value) => tests.every((t) => (t as (v: unknown) => boolean)(value));
  } else {
    test = operator('$eq', condition);
  }
  if (!test) return null;
  const check = test;
  return (doc) => check(doc[field]);
}

function logical(op: string, operand: unknown): Matcher | null {
  if (!Array.isArray(operand) || operand.length === 0) return null;
  const parts = operand.map((part) => (isPlainObject(part) ? compileFilter(part) : null));
  if (parts.some((part) => part === null)) return null;
  const matchers = parts as Matcher[];
  if (op === '$and') return (doc) => matchers.every((m) => m(doc));
  if (op === '$or') return (doc) => matchers.some((m) => m(doc));
  if (op === '$nor') return (doc) => !matchers.some((m) => m(doc));
  return null;
}

/** A matcher for `filter`, or null when the filter uses anything outside the supported subset. */
export function compileFilter(filter: Record<string, unknown>): Matcher | null {
  const matchers: Matcher[] = [];
  for (const [key, condition] of Object.entries(filter)) {
    const matcher = key.startsWith('$') ? logical(key, condition) : fieldCondition(key, condition);
    if (!matcher) return null;
    matchers.push(matcher);
  }
  return (doc) => matchers.every((m) => m(doc));
}
