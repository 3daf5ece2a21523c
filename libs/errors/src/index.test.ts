import { describe, expect, it } from 'vitest';
import { AppError, invalid, isProblemCode, notFound, problemType, statusOf, unavailable } from './index.js';

describe('AppError', () => {
  it('carries the status, title and retryability of its code', () => {
    const error = notFound('document doc_x not found');
    expect(error.status).toBe(404);
    expect(error.title).toBe('Not found');
    expect(error.retryable).toBe(false);
    expect(error).toBeInstanceOf(Error);
  });

  it('marks unavailable dependencies as retryable with a Retry-After', () => {
    const error = unavailable('search is not answering', 2);
    expect(error.status).toBe(503);
    expect(error.retryAfter).toBe(2);
    expect(error.retryable).toBe(true);
  });

  it('recognises only known problem codes', () => {
    expect(isProblemCode('not-found')).toBe(true);
    expect(isProblemCode('toString')).toBe(false);
    expect(isProblemCode(404)).toBe(false);
    expect(statusOf('quota-exceeded')).toBe(429);
    expect(problemType('conflict')).toBe('urn:kb:problem:conflict');
  });

  it('keeps the cause', () => {
    const cause = new Error('boom');
    expect(new AppError('internal', 'x', { cause }).cause).toBe(cause);
    expect(invalid('body.name is required').message).toBe('body.name is required');
  });
});
