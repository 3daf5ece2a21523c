import { invalid } from '@kb/errors';
import { FormatRegistry, type Static, type TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (value) => DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)));
}

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

function checkerFor<T extends TSchema>(schema: T): TypeCheck<T> {
  let check = compiled.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    compiled.set(schema, check);
  }
  return check as TypeCheck<T>;
}

/**
 * Validates `value` against `schema` and returns it typed, or throws AppError(invalid-request) naming the
 * first offending field, as `<what>.<path>`. Objects carrying `__proto__` or `constructor` keys are refused.
 */
export function parse<T extends TSchema>(schema: T, value: unknown, what = 'body'): Static<T> {
  if (hasPrototypeKeys(value))
    throw invalid(`${what} must not contain __proto__, constructor or prototype keys`);
  const check = checkerFor(schema);
  if (check.Check(value)) return value;
  const first = check.Errors(value).First();
  const path = first?.path ? `${what}${first.path.replaceAll('/', '.')}` : what;
  throw invalid(`${path}: ${first?.message ?? 'is invalid'}`);
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function hasPrototypeKeys(value: unknown, depth = 0): boolean {
  if (depth > 32 || value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((item) => hasPrototypeKeys(item, depth + 1));
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) return true;
    if (hasPrototypeKeys((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}
