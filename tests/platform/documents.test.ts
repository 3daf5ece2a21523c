import { createHash } from 'node:crypto';
import { collectionName } from '@kb/vector-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DocumentsPlatform,
  type DocumentView,
  listAll,
  makePdf,
  pointCount,
  search,
  settled,
  startDocumentsPlatform,
  uploadFile,
} from './documents.helpers.ts';
import { isProblem } from './http.ts';
import { createOrg, createWorkspace, type WorkspaceFixture } from './tenants.ts';

let dp: DocumentsPlatform;
let wsA: WorkspaceFixture;
let wsB: WorkspaceFixture;
let readOnly: WorkspaceFixture;

beforeAll(async () => {
  dp = await startDocumentsPlatform();
  const orgA = await createOrg(dp.platform, 'Docs A', 'pro');
  const orgB = await createOrg(dp.platform, 'Docs B', 'starter');
  wsA = await createWorkspace(dp.platform, orgA, 'docs-a');
  wsB = await createWorkspace(dp.platform, orgB, 'docs-b');
  readOnly = await createWorkspace(dp.platform, orgA, 'docs-a-readonly', ['documents:read', 'search']);
});

afterAll(async () => {
  if (process.env.KB_DEBUG_LOGS) {
    for (const [name, proc] of dp.platform.processes) {
      for (const line of proc.stdout)
        if (/"level":(40|50|60)|delet|maint|purge/i.test(line)) console.log(name, line.slice(0, 600));
    }
  }
  await dp?.stop();
});

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

describe('upload to search, for every supported type', () => {
  it('takes each type from upload to ready, findable in its own workspace only', async () => {
    const markdown = '# Quokka handbook\n\nThe **quokka** is a small marsupial from Rottnest Island.\n';
    const html =
      '<html><head><title>Axolotl facts</title><style>.x{}</style><script>var secretscript=1</script></head>' +
      '<body><h1>Axolotl</h1><p>The axolotl regrows its limbs.</p></body></html>';
    const pdf = makePdf([['The narwhal has a long tusk.', 'It lives in Arctic waters.']], 'Narwhal notes');
    const json = JSON.stringify({ title: 'Pangolin record', habitat: 'forest', diet: ['ants', 'termites'] });
    const uploads: {
      word: string;
      title: string | null;
      type: string;
      answer: Promise<{ status: number; body: { id: string; status: string } }>;
    }[] = [
      {
        word: 'zebrafish',
        title: 'Plain',
        type: 'text/plain',
        answer: wsA.as('POST', '/v1/documents', {
          content: 'A zebrafish swims in the laboratory tank.',
          title: 'Plain',
          metadata: { kind: 'text', n: 1 },
        }),
      },
      {
        word: 'quokka',
        title: 'Quokka handbook',
        type: 'text/markdown',
        answer: uploadFile(
          dp.platform.gatewayUrl,
          wsA.key,
          { bytes: markdown, filename: 'quokka.md' },
          { metadata: '{"kind":"md"}' },
        ),
      },
      {
        word: 'axolotl',
        title: 'Axolotl facts',
        type: 'text/html',
        answer: uploadFile(dp.platform.gatewayUrl, wsA.key, {
          bytes: html,
          filename: 'a.html',
          type: 'text/html',
        }),
      },
      {
        word: 'narwhal',
        title: 'Narwhal notes',
        type: 'application/pdf',
        answer: uploadFile(dp.platform.gatewayUrl, wsA.key, {
          bytes: pdf,
          filename: 'n.pdf',
          type: 'application/pdf',
        }),
      },
      {
        word: 'pangolin',
        title: 'Pangolin record',
        type: 'application/json',
        answer: wsA.as('POST', '/v1/documents', { content: json, content_type: 'application/json' }),
      },
    ];
    const accepted = await Promise.all(uploads.map((u) => u.answer));
    for (const answer of accepted) {
      expect(answer.status, JSON.stringify(answer.body)).toBe(202);
      expect(answer.body.status).toBe('queued');
      expect(answer.body.id).toMatch(/^doc_[0-9a-z]{26}$/);
    }
    const docs = await Promise.all(accepted.map((answer) => settled(wsA, answer.body.id)));
    let chunks = 0;
    for (const [i, doc] of docs.entries()) {
      const upload = uploads[i] as (typeof uploads)[number];
      expect(doc, JSON.stringify(doc)).toMatchObject({
        status: 'ready',
        error: null,
        content_type: upload.type,
        version: 1,
      });
      expect(doc.title).toBe(upload.title);
      expect(doc.chunks).toBeGreaterThanOrEqual(1);
      chunks += doc.chunks;
      const hits = await search(wsA.as, upload.word);
      expect(hits[0]?.document_id, `${upload.word}: ${JSON.stringify(hits)}`).toBe(doc.id);
      expect(await search(wsB.as, upload.word, { mode: 'sparse' })).toEqual([]);
    }
    expect(docs[0]?.metadata).toEqual({ kind: 'text', n: 1 });
    expect(docs[0]?.bytes).toBe(Buffer.byteLength('A zebrafish swims in the laboratory tank.'));
    expect(docs[0]?.content_hash).toBe(sha256('A zebrafish swims in the laboratory tank.'));
    expect(docs[3]?.content_hash).toBe(sha256(pdf));
    // Scripts and styles are not text.
    expect(await search(wsA.as, 'secretscript', { mode: 'sparse' })).toEqual([]);
    expect(await pointCount(dp.vectors, wsA)).toBe(chunks);
    // Another tenant's document does not exist for this key.
    const foreign = await wsB.as('GET', `/v1/documents/${docs[0]?.id}`);
    expect(foreign.status).toBe(404);
    expect(isProblem(foreign)).toBe(true);
  });
});

describe('duplicates and idempotency', () => {
  it('answers identical content and a repeated Idempotency-Key with the existing document', async () => {
    const body = { content: 'The okapi is related to the giraffe.' };
    const first = await wsA.as<DocumentView>('POST', '/v1/documents', body, { 'idempotency-key': 'okapi-1' });
    expect(first.status).toBe(202);
    const again = await wsA.as<DocumentView>('POST', '/v1/documents', body);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const sameKey = await wsA.as<DocumentView>('POST', '/v1/documents', body, {
      'idempotency-key': 'okapi-1',
    });
    expect(sameKey.status).toBe(200);
    expect(sameKey.body.id).toBe(first.body.id);
    const otherContent = await wsA.as(
      'POST',
      '/v1/documents',
      { content: 'something else' },
      { 'idempotency-key': 'okapi-1' },
    );
    expect(otherContent.status).toBe(409);
    // The same bytes as a file are the same content too.
    const asFile = await uploadFile(dp.platform.gatewayUrl, wsA.key, {
      bytes: body.content,
      filename: 'o.txt',
    });
    expect(asFile.status).toBe(200);
    expect(asFile.body.id).toBe(first.body.id);
    // In another workspace the same content is a new document.
    const elsewhere = await wsB.as<DocumentView>('POST', '/v1/documents', body, {
      'idempotency-key': 'okapi-1',
    });
    expect(elsewhere.status).toBe(202);
    expect(elsewhere.body.id).not.toBe(first.body.id);
    await settled(wsA, first.body.id);
    const okapis = await listAll(wsA);
    expect(okapis.filter((doc) => doc.content_hash === sha256(body.content))).toHaveLength(1);
    // Concurrent identical uploads still make one document.
    const concurrent = await Promise.all(
      Array.from({ length: 6 }, () =>
        wsA.as<DocumentView>('POST', '/v1/documents', { content: 'The tapir has a short trunk.' }),
      ),
    );
    expect(new Set(concurrent.map((a) => a.body.id)).size).toBe(1);
    expect(concurrent.filter((a) => a.status === 202)).toHaveLength(1);
  });
});

describe('versions of an external_id', () => {
  it('replaces the content atomically: search sees the new version, never both or neither', async () => {
    const v1 = await wsA.as<DocumentView>('POST', '/v1/documents', {
      content: 'Version one mentions the capybara.',
      external_id: 'wiki/page-1',
    });
    expect(v1.status).toBe(202);
    const ready1 = await settled(wsA, v1.body.id);
    expect(ready1.version).toBe(1);
    const same = await wsA.as<DocumentView>('POST', '/v1/documents', {
      content: 'Version one mentions the capybara.',
      external_id: 'wiki/page-1',
    });
    expect(same.status).toBe(200);
    const v2 = await wsA.as<DocumentView>('POST', '/v1/documents', {
      content: 'Version two mentions the wombat instead.',
      external_id: 'wiki/page-1',
      title: 'Page one',
    });
    expect(v2.status).toBe(202);
    expect(v2.body.id).toBe(v1.body.id);
    // While version 2 is processed, every search finds exactly one version of the document.
    let ready2: DocumentView | null = null;
    while (!ready2) {
      const hits = (await search(wsA.as, 'capybara wombat')).filter((hit) => hit.document_id === v1.body.id);
      expect(hits).toHaveLength(1);
      const doc = await wsA.as<DocumentView>('GET', `/v1/documents/${v1.body.id}`);
      if (doc.body.status === 'ready' && doc.body.version === 2) ready2 = doc.body;
    }
    expect(ready2.title).toBe('Page one');
    expect(await search(wsA.as, 'capybara', { mode: 'sparse' })).toEqual([]);
    expect((await search(wsA.as, 'wombat'))[0]?.document_id).toBe(v1.body.id);
    const listed = await listAll(wsA, '&external_id=wiki%2Fpage-1');
    expect(listed.map((doc) => [doc.id, doc.version])).toEqual([[v1.body.id, 2]]);
  });
});

describe('listing', () => {
  it('pages with a cursor and filters by status', async () => {
    const ws = await createWorkspace(dp.platform, wsA.org, 'listing');
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const answer = await ws.as<DocumentView>('POST', '/v1/documents', {
        content: `List item number ${i} about lemurs.`,
      });
      expect(answer.status).toBe(202);
      ids.push(answer.body.id);
    }
    const bad = await ws.as<DocumentView>('POST', '/v1/documents', {
      content: '{"broken": ',
      content_type: 'application/json',
    });
    expect(bad.status).toBe(202);
    await Promise.all([...ids, bad.body.id].map((id) => settled(ws, id)));
    const first = await ws.as<{ items: DocumentView[]; next_cursor: string | null }>(
      'GET',
      '/v1/documents?limit=3',
    );
    expect(first.body.items).toHaveLength(3);
    expect(first.body.next_cursor).toBeTruthy();
    const all = await listAll(ws);
    expect(all.map((doc) => doc.id)).toEqual([...ids, bad.body.id]);
    expect((await listAll(ws, '&status=ready')).map((doc) => doc.id)).toEqual(ids);
    const failed = await listAll(ws, '&status=failed');
    expect(failed.map((doc) => doc.id)).toEqual([bad.body.id]);
    expect(failed[0]?.error).toMatch(/JSON is invalid/);
    expect((await ws.as('GET', '/v1/documents?status=lost')).status).toBe(400);
    expect((await ws.as('GET', '/v1/documents?limit=101')).status).toBe(400);
  });
});

describe('deletion', () => {
  it('takes the document out of search before answering, then removes points and record', async () => {
    const answer = await wsA.as<DocumentView>('POST', '/v1/documents', {
      content: 'The ibex climbs steep cliffs.',
    });
    const doc = await settled(wsA, answer.body.id);
    expect((await search(wsA.as, 'ibex'))[0]?.document_id).toBe(doc.id);
    const before = await pointCount(dp.vectors, wsA);
    expect((await readOnly.as('DELETE', `/v1/documents/${doc.id}`)).status).toBe(403);
    expect((await wsB.as('DELETE', `/v1/documents/${doc.id}`)).status).toBe(404);
    const deleted = await wsA.as<DocumentView>('DELETE', `/v1/documents/${doc.id}`);
    expect(deleted.status).toBe(202);
    expect(deleted.body.status).toBe('deleting');
    expect(await search(wsA.as, 'ibex', { mode: 'sparse' })).toEqual([]);
    const started = Date.now();
    while ((await wsA.as('GET', `/v1/documents/${doc.id}`)).status !== 404) {
      expect(Date.now() - started).toBeLessThan(15_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await pointCount(dp.vectors, wsA)).toBe(before - doc.chunks);
    // The same content may be uploaded again as a new document.
    const again = await wsA.as<DocumentView>('POST', '/v1/documents', {
      content: 'The ibex climbs steep cliffs.',
    });
    expect(again.status).toBe(202);
    expect(again.body.id).not.toBe(doc.id);
  });
});

describe('workspace deletion', () => {
  it('drops the workspace’s collection, and nothing of the other workspaces', async () => {
    const doomed = await createWorkspace(dp.platform, wsA.org, 'docs-a-doomed');
    const answer = await doomed.as<DocumentView>('POST', '/v1/documents', {
      content: 'The lynx hunts at dusk along the frozen river.',
    });
    await settled(doomed, answer.body.id);
    const collection = collectionName({ org: doomed.org.id, ws: doomed.id });
    expect((await dp.vectors.collectionExists(collection)).exists).toBe(true);
    const kept = await pointCount(dp.vectors, wsA);

    expect((await wsA.org.admin('DELETE', `/v1/workspaces/${doomed.id}`)).status).toBe(202);
    const started = Date.now();
    while ((await dp.vectors.collectionExists(collection)).exists) {
      expect(Date.now() - started).toBeLessThan(20_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await doomed.as('GET', `/v1/documents/${answer.body.id}`)).status).toBe(401);
    expect(await pointCount(dp.vectors, wsA)).toBe(kept);
    expect((await wsA.as('GET', '/v1/documents?limit=1')).status).toBe(200);
  });
});

describe('bad input', () => {
  it('refuses what cannot be a document with a clear 4xx, and fails bad content with a reason', async () => {
    const url = dp.platform.gatewayUrl;
    const problems = [
      [await uploadFile(url, wsA.key, { bytes: '', filename: 'empty.txt' }), 400, /empty/],
      [await wsA.as('POST', '/v1/documents', { content: '' }), 400, /content/],
      [await wsA.as('POST', '/v1/documents', { content: 'x', metadata: { 'bad key!': 1 } }), 400, /metadata/],
      [
        await wsA.as('POST', '/v1/documents', { content: 'x', content_type: 'image/png' }),
        400,
        /content_type/,
      ],
      [
        await uploadFile(url, wsA.key, {
          bytes: makePdf([['pdf bytes']]),
          filename: 'x.txt',
          type: 'text/plain',
        }),
        415,
        /is a PDF/,
      ],
      [
        await uploadFile(url, wsA.key, { bytes: 'just text', filename: 'x.pdf', type: 'application/pdf' }),
        415,
        /not a PDF/,
      ],
      [
        await uploadFile(url, wsA.key, {
          bytes: Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex'),
          filename: 'image.png',
        }),
        415,
        /image\/png/,
      ],
      [
        await uploadFile(url, wsA.key, { bytes: 'hello', filename: 'a.doc', type: 'application/msword' }),
        415,
        /not supported/,
      ],
      [
        await uploadFile(url, wsA.key, {
          bytes: Uint8Array.from([0x61, 0x62, 0xc3, 0x28, 0x63]),
          filename: 'latin.txt',
        }),
        415,
        /UTF-8/,
      ],
      [await uploadFile(url, wsA.key, { bytes: 'x' }, { metadata: '[1,2]' }), 400, /metadata/],
      [
        await wsA.as('POST', '/v1/documents', { content: 'x' }, { 'idempotency-key': 'bad key with spaces' }),
        400,
        /idempotency-key/,
      ],
      [await wsA.as('POST', '/v1/documents', 'not json at all', { 'content-type': 'text/csv' }), 415, /./],
      [await readOnly.as('POST', '/v1/documents', { content: 'no write scope' }), 403, /documents:write/],
    ] as const;
    for (const [i, [answer, status, detail]] of problems.entries()) {
      expect(answer.status, `${i}: ${JSON.stringify(answer.body)}`).toBe(status);
      expect(isProblem(answer as never), JSON.stringify(answer.body)).toBe(true);
      expect(String((answer.body as unknown as { detail: string }).detail)).toMatch(detail);
    }
  });

  it('fails a corrupt PDF with a reason, and reads a 10 MB single line and deeply nested HTML', async () => {
    const url = dp.platform.gatewayUrl;
    const corrupt = await uploadFile(url, wsA.key, {
      bytes: Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(2_000, 0x41)]),
      filename: 'broken.pdf',
    });
    expect(corrupt.status).toBe(202);
    const longLine = 'walrus tusks and whiskers '.repeat(400_000);
    const line = await uploadFile(url, wsA.key, { bytes: longLine, filename: 'one-line.txt' });
    expect(line.status, JSON.stringify(line.body)).toBe(202);
    const nested = `<html><body>${'<div>'.repeat(100_000)}the deeply nested dugong${'</div>'.repeat(100_000)}</body></html>`;
    const deep = await uploadFile(url, wsA.key, { bytes: nested, filename: 'deep.html', type: 'text/html' });
    expect(deep.status).toBe(202);
    const failed = await settled(wsA, corrupt.body.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/PDF could not be read/);
    const deepDoc = await settled(wsA, deep.body.id);
    expect(deepDoc.status).toBe('ready');
    expect((await search(wsA.as, 'dugong', { mode: 'sparse' }))[0]?.document_id).toBe(deepDoc.id);
    const lineDoc = await settled(wsA, line.body.id, 120_000);
    expect(lineDoc.status, JSON.stringify(lineDoc)).toBe('ready');
    expect(lineDoc.bytes).toBe(Buffer.byteLength(longLine));
    expect(lineDoc.chunks).toBeGreaterThan(10_000);
  });

  it('answers 413 beyond the plan limit and the workspace override, without storing anything', async () => {
    const ws = await createWorkspace(dp.platform, wsA.org, 'small-uploads');
    const patched = await wsA.org.admin('PATCH', `/v1/workspaces/${ws.id}`, {
      settings: { limits: { upload_bytes: 1_000 } },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const over = await ws.as('POST', '/v1/documents', { content: 'y'.repeat(1_001) });
    expect(over.status).toBe(413);
    expect(isProblem(over)).toBe(true);
    expect((await ws.as('POST', '/v1/documents', { content: 'y'.repeat(1_000) })).status).toBe(202);
    // The pro plan allows 100 MiB: a declared length beyond is refused before any byte is read.
    const huge = await fetch(`${dp.platform.gatewayUrl}/v1/documents`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${wsA.key}`,
        'content-type': 'multipart/form-data; boundary=x',
        'content-length': String(200 * 1024 * 1024),
      },
      body: '--x\r\n',
    }).catch((error: unknown) => error);
    if (huge instanceof Response) expect(huge.status).toBe(413);
  });
});
