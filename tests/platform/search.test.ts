import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DocumentsPlatform, search, settled, startDocumentsPlatform } from './documents.helpers.ts';
import { client, isProblem } from './http.ts';
import { createOrg, createWorkspace, type WorkspaceFixture } from './tenants.ts';

let env: DocumentsPlatform;
let a: WorkspaceFixture;
let aOther: WorkspaceFixture;
let b: WorkspaceFixture;
const docs: Record<string, string> = {};

const SHARED = [
  {
    key: 'tides',
    title: 'Tides',
    content: 'The tides of the ocean follow the moon and the sun in a daily rhythm.',
    metadata: { lang: 'en', topic: 'sea' },
  },
  {
    key: 'bread',
    title: 'Bread',
    content: 'Sourdough bread needs a lively starter, flour, water and patience.',
    metadata: { lang: 'en', topic: 'food' },
  },
  {
    key: 'volcano',
    title: 'Volcanoes',
    content: 'Volcanic eruptions release magma, ash and sulphur dioxide into the air.',
    metadata: { lang: 'en', topic: 'earth' },
  },
  {
    key: 'pain',
    title: 'Pain',
    content: 'Le pain au levain demande un levain actif, de la farine et de la patience.',
    metadata: { lang: 'fr', topic: 'food' },
  },
];

async function upload(
  ws: WorkspaceFixture,
  doc: { title: string; content: string; metadata: Record<string, unknown> },
) {
  const answer = await ws.as<{ id: string }>('POST', '/v1/documents', {
    title: doc.title,
    content: doc.content,
    metadata: doc.metadata,
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(202);
  expect((await settled(ws, answer.body.id)).status).toBe('ready');
  return answer.body.id;
}

beforeAll(async () => {
  env = await startDocumentsPlatform();
  const orgA = await createOrg(env.platform, 'Searcher A');
  const orgB = await createOrg(env.platform, 'Searcher B');
  a = await createWorkspace(env.platform, orgA, 'a-main');
  aOther = await createWorkspace(env.platform, orgA, 'a-other');
  b = await createWorkspace(env.platform, orgB, 'b-main');
  for (const doc of SHARED) {
    docs[`a:${doc.key}`] = await upload(a, { ...doc, content: `${doc.content} canary-a-${doc.key}` });
    docs[`b:${doc.key}`] = await upload(b, { ...doc, content: `${doc.content} canary-b-${doc.key}` });
  }
  docs['aOther:tides'] = await upload(aOther, {
    ...(SHARED[0] as (typeof SHARED)[0]),
    content: 'The tides again canary-aother',
  });
}, 120_000);

afterAll(async () => {
  await env?.stop();
});

describe('POST /v1/search', () => {
  it.each(['hybrid', 'dense', 'sparse'])(
    'finds the expected document first in %s mode, in its own workspace only',
    async (mode) => {
      const phrase = await search(a.as, 'sourdough bread needs a lively starter', { mode });
      expect(phrase[0]?.document_id).toBe(docs['a:bread']);
      const keyword = await search(a.as, 'volcanic magma', { mode });
      expect(keyword[0]?.document_id).toBe(docs['a:volcano']);
      expect(keyword[0]).toMatchObject({ title: 'Volcanoes', metadata: { topic: 'earth' } });
      const all = [...phrase, ...keyword];
      expect(all.every((hit) => hit.text.includes('canary-a-'))).toBe(true);
    },
  );

  it('narrows with metadata filters and document_ids', async () => {
    const french = await search(a.as, 'bread patience', { filter: { metadata: { lang: 'fr' } } });
    expect(french.map((h) => h.document_id)).toEqual([docs['a:pain']]);
    const food = await search(a.as, 'the', {
      mode: 'dense',
      filter: { metadata: { topic: { in: ['food'] } } },
    });
    expect(new Set(food.map((h) => h.document_id))).toEqual(new Set([docs['a:bread'], docs['a:pain']]));
    const one = await search(a.as, 'ocean', { filter: { document_ids: [docs['a:volcano']] } });
    expect(one.map((h) => h.document_id)).toEqual([docs['a:volcano']]);
  });

  it('enforces a search token’s filter on every query; the body cannot widen it', async () => {
    const issued = await a.as<{ token: string }>('POST', '/v1/tokens', {
      filter: { metadata: { topic: 'food' } },
    });
    expect(issued.status).toBe(201);
    const browser = client(env.platform.gatewayUrl, issued.body.token);
    const own = await search(browser, 'ocean tides moon');
    expect(own.length).toBeGreaterThan(0);
    expect(own.every((h) => h.metadata.topic === 'food')).toBe(true);
    expect(await search(browser, 'ocean tides moon', { filter: { metadata: { topic: 'sea' } } })).toEqual([]);
    expect(await search(browser, 'ocean tides', { filter: { document_ids: [docs['a:tides']] } })).toEqual([]);
    // A token only searches: it cannot read documents.
    expect((await browser('GET', `/v1/documents/${docs['a:bread']}`)).status).toBe(403);
  });

  it('refuses bad requests with a problem naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ query: '' }, 'query'],
      [{ query: 'x'.repeat(2_001) }, 'query'],
      [{ query: 'x', top_k: 0 }, 'top_k'],
      [{ query: 'x', top_k: 101 }, 'top_k'],
      [{ query: 'x', mode: 'fuzzy' }, 'mode'],
      [{ query: 'x', collection: 'kb_other' }, 'collection'],
      [{ query: 'x', filter: { metadata: { org_id: b.org.id } } }, 'org_id'],
      [{ query: 'x', filter: { metadata: { workspace_id: b.id } } }, 'workspace_id'],
      [{ query: 'x', filter: { document_ids: ['doc_../../x'] } }, 'document_ids'],
      [{ query: 'x', filter: { tenant: 'b' } }, 'filter'],
    ];
    for (const [body, field] of cases) {
      const answer = await a.as('POST', '/v1/search', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(isProblem(answer)).toBe(true);
      expect(String(answer.body.detail)).toContain(field);
    }
  });
});

describe('search isolation', () => {
  it('returns 0 foreign results over 1,000 generated cross-tenant attempts', async () => {
    const foreignIds = [
      docs['b:tides'],
      docs['b:bread'],
      docs['b:volcano'],
      docs['aOther:tides'],
    ] as string[];
    const otherToken = (await aOther.as<{ token: string }>('POST', '/v1/tokens', {})).body.token;
    const queries = ['canary-b-tides', 'canary-aother', 'sourdough bread', 'ocean tides moon', 'magma ash'];
    const forged = { 'kb-org': b.org.id, 'kb-workspace': b.id, 'kb-context': 'forged.context.token' };
    let foreign = 0;
    let refusedOrEmpty = 0;
    const attempts = Array.from({ length: 1_000 }, (_, i) => async () => {
      const query = queries[i % queries.length] as string;
      const kind = i % 5;
      const body: Record<string, unknown> = { query, top_k: 50, mode: ['hybrid', 'dense', 'sparse'][i % 3] };
      let as = a.as;
      let headers: Record<string, string> = {};
      if (kind === 0) body.filter = { document_ids: foreignIds };
      if (kind === 1) headers = forged;
      if (kind === 2)
        body.filter = { metadata: { [i % 2 ? 'org_id' : 'workspace_id']: i % 2 ? b.org.id : b.id } };
      if (kind === 3) as = client(env.platform.gatewayUrl, otherToken);
      if (kind === 4) body.filter = { document_ids: [docs['a:tides'], ...foreignIds] };
      const answer = await as<{ results?: { document_id: string; text: string }[] }>(
        'POST',
        '/v1/search',
        body,
        headers,
      );
      const hits = answer.body.results ?? [];
      if (answer.status !== 200 || hits.length === 0) refusedOrEmpty += 1;
      const allowed =
        kind === 3
          ? [docs['aOther:tides']]
          : Object.entries(docs)
              .filter(([k]) => k.startsWith('a:'))
              .map(([, v]) => v);
      foreign += hits.filter((h) => !allowed.includes(h.document_id) || /canary-b-/.test(h.text)).length;
      if (kind === 3) foreign += hits.filter((h) => /canary-a-/.test(h.text)).length;
    });
    for (let i = 0; i < attempts.length; i += 20)
      await Promise.all(attempts.slice(i, i + 20).map((attempt) => attempt()));
    expect(foreign).toBe(0);
    expect(refusedOrEmpty).toBeGreaterThan(0);
  }, 180_000);
});
