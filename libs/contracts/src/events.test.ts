import { describe, expect, it } from 'vitest';
import { ingestRequestedId, ingestRequestedVersion } from './events.js';

describe('ingest.requested event ids', () => {
  const doc = 'document_01jd0000000000000000000000';

  it('name the document and version, and give the version back', () => {
    expect(ingestRequestedId(doc, 3)).toBe(`ingest:${doc}:v3`);
    expect(ingestRequestedVersion(ingestRequestedId(doc, 3), doc)).toBe(3);
    expect(ingestRequestedVersion(ingestRequestedId(doc, 120), doc)).toBe(120);
  });

  it('give no version for another document, another shape or a version that is not a positive integer', () => {
    expect(
      ingestRequestedVersion(ingestRequestedId(doc, 3), 'document_01jd1111111111111111111111'),
    ).toBeNull();
    for (const id of [
      `ingest:${doc}:v0`,
      `ingest:${doc}:v03`,
      `ingest:${doc}:v-1`,
      `ingest:${doc}:v1.5`,
      `ingest:${doc}:v`,
      `ingest:${doc}:v1:extra`,
      `ingest:${doc}:v9999999999`,
      `doc:${doc}:v1:ready`,
      'ingest-without-a-version',
    ]) {
      expect(ingestRequestedVersion(id, doc)).toBeNull();
    }
  });
});
