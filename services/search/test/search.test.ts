import { createServer, type Server } from 'node:net';
import { AppError } from '@kb/errors';
import { newId } from '@kb/tenancy';
import { type ServerHandle, startNats } from '@kb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchFixture } from './fixture.js';

type Fixture = Awaited<ReturnType<typeof searchFixture>>;
let f: Fixture;

const CORPUS = [
  {
    title: 'Tides',
    text: 'The tides of the ocean follow the moon and the sun in a daily rhythm.',
    metadata: { lang: 'en', topic: 'sea', year: 2020 },
  },
  {
    title: 'Bread',
    text: 'Sourdough bread needs a lively starter, flour, water and patience.',
    metadata: { lang: 'en', topic: 'food', year: 2021 },
  },
  {
    title: 'Volcanoes',
    text: 'Volcanic eruptions release magma, ash and sulphur dioxide into the air.',
    metadata: { lang: 'en', topic: 'earth', year: 2022 },
  },
  {
    title: 'Pain',
    text: 'Le pain au levain demande un levain actif, de la farine et de la patience.',
    metadata: { lang: 'fr', topic: 'food', year: 2021 },
  },
  {
    title: 'Glaciers',
    text: 'Glaciers carve valleys as compacted snow turns into flowing ice over centuries.',
    metadata: { lang: 'en', topic: 'earth', year: 2023 },
  },
];

let tenant: ReturnType<Fixture['tenant']>;
let ids: string[];

beforeAll(async () => {
  f = await searchFixture();
  tenant = f.tenant();
  ids = await f.seed(tenant, CORPUS);
});

afterAll(async () => {
  await f?.close();
});

describe('search.query', () => {
  it.each(['hybrid', 'dense', 'sparse'] as const)(
    'ranks the expected document first for phrase and keyword queries (%s)',
    async (mode) => {
      const phrase = await f.query(tenant, { query: 'sourdough bread needs a lively starter', mode });
      expect(phrase.results[0]?.document_id).toBe(ids[1]);
      const keyword = await f.query(tenant, { query: 'volcanic magma', mode });
      expect(keyword.results[0]?.document_id).toBe(ids[2]);
      expect(keyword.results[0]).toMatchObject({ title: 'Volcanoes', metadata: { topic: 'earth' } });
      expect(keyword.results[0]?.text).toContain('magma');
      expect(keyword.took_ms).toBeGreaterThanOrEqual(0);
    },
  );

  it('respects top_k and orders by score', async () => {
    const answer = await f.query(tenant, { query: 'patience flour water glaciers', top_k: 3 });
    expect(answer.results).toHaveLength(3);
    const scores = answer.results.map((r) => r.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  it('narrows with metadata values, {in: [...]} and document_ids', async () => {
    const french = await f.query(tenant, { query: 'bread patience', filter: { metadata: { lang: 'fr' } } });
    expect(french.results.map((r) => r.document_id)).toEqual([ids[3]]);
    const topics = await f.query(tenant, {
      query: 'the',
      mode: 'dense',
      filter: { metadata: { topic: { in: ['earth', 'sea'] } } },
    });
    expect(new Set(topics.results.map((r) => r.document_id))).toEqual(new Set([ids[0], ids[2], ids[4]]));
    const years = await f.query(tenant, {
      query: 'the',
      mode: 'dense',
      filter: { metadata: { year: 2021 } },
    });
    expect(new Set(years.results.map((r) => r.document_id))).toEqual(new Set([ids[1], ids[3]]));
    const docs = await f.query(tenant, {
      query: 'ocean tides',
      filter: { document_ids: [ids[4] as string] },
    });
    expect(docs.results.map((r) => r.document_id)).toEqual([ids[4]]);
  });

  it('ANDs a token restriction with the request filter, so the request cannot widen it', async () => {
    const restrict = { metadata: { topic: 'food' } };
    const own = await f.query(tenant, { query: 'ocean tides moon', mode: 'dense', restrict });
    expect(own.results.every((r) => r.metadata.topic === 'food')).toBe(true);
    const widened = await f.query(tenant, {
      query: 'ocean tides moon',
      mode: 'dense',
      restrict,
      filter: { metadata: { topic: 'sea' } },
    });
    expect(widened.results).toEqual([]);
    const byId = await f.query(tenant, {
      query: 'ocean tides moon',
      restrict,
      filter: { document_ids: [ids[0] as string] },
    });
    expect(byId.results).toEqual([]);
  });

  it('refuses filters on the platform’s own payload fields', async () => {
    for (const key of ['org_id', 'workspace_id', 'live', 'document_id', 'metadata']) {
      const error = await f
        .query(tenant, { query: 'x', filter: { metadata: { [key]: tenant.org } } })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).status).toBe(400);
      expect((error as AppError).message).toContain(key);
    }
  });

  it('shows only the newest live version of a document', async () => {
    const t = f.tenant();
    const doc = newId('document');
    await f.seed(t, [
      { id: doc, text: 'quarterly report draft numbers', version: 1 },
      { id: doc, text: 'quarterly report final numbers', version: 2 },
      { id: newId('document'), text: 'quarterly report hidden numbers', version: 1, live: false },
    ]);
    const answer = await f.query(t, { query: 'quarterly report numbers' });
    expect(answer.results.map((r) => r.text)).toEqual(['quarterly report final numbers']);
  });

  it('answers an empty list for a workspace with no collection yet', async () => {
    expect((await f.query(f.tenant(), { query: 'anything' })).results).toEqual([]);
  });
});

describe('search isolation', () => {
  it('returns 0 foreign results over 1,000 generated cross-tenant attempts', async () => {
    const a = f.tenant();
    const b = { ...f.tenant(), org: a.org };
    const c = f.tenant();
    const shared = 'The shared handbook explains onboarding, payroll and vacation policies.';
    const [aDoc] = await f.seed(a, [{ text: `${shared} canary-alpha-7731`, metadata: { owner: 'a' } }]);
    const [bDoc] = await f.seed(b, [{ text: `${shared} canary-bravo-1942`, metadata: { owner: 'b' } }]);
    const [cDoc] = await f.seed(c, [{ text: `${shared} canary-charlie-5517`, metadata: { owner: 'c' } }]);
    const foreignIds = [bDoc, cDoc] as string[];
    const attempts: Array<() => Promise<unknown>> = [];
    const queries = ['canary-bravo-1942', 'canary-charlie-5517', shared, 'payroll', 'onboarding canary'];
    for (let i = 0; i < 1_000; i += 1) {
      const q = queries[i % queries.length] as string;
      const kind = i % 5;
      const filter =
        kind === 0
          ? { document_ids: foreignIds }
          : kind === 1
            ? { metadata: { owner: { in: ['b', 'c'] } } }
            : kind === 2
              ? { document_ids: [aDoc as string, ...foreignIds] }
              : kind === 3
                ? { metadata: { owner: i % 2 ? 'b' : 'c' } }
                : undefined;
      attempts.push(() =>
        f.query(a, {
          query: q,
          mode: (['hybrid', 'dense', 'sparse'] as const)[i % 3],
          top_k: 100,
          ...(filter ? { filter } : {}),
        }),
      );
    }
    let foreign = 0;
    let answered = 0;
    for (let i = 0; i < attempts.length; i += 25) {
      const batch = await Promise.all(attempts.slice(i, i + 25).map((attempt) => attempt()));
      for (const answer of batch as { results: { document_id: string; text: string }[] }[]) {
        answered += 1;
        foreign += answer.results.filter(
          (r) => r.document_id !== aDoc || /bravo|charlie/.test(r.text),
        ).length;
      }
    }
    expect(answered).toBe(1_000);
    expect(foreign).toBe(0);
    // Tenant-named filter keys are refused outright rather than answered.
    for (const key of ['org_id', 'workspace_id']) {
      await expect(f.query(a, { query: 'x', filter: { metadata: { [key]: b.org } } })).rejects.toMatchObject({
        status: 400,
      });
    }
  });
});

describe('bounded work', () => {
  let blackhole: Server;
  let port: number;
  // A NATS server of its own: on the shared one, the other fixture's service (same queue group) could answer.
  let nats: ServerHandle;

  beforeAll(async () => {
    // Accepts connections and never answers, like a wedged engine.
    blackhole = createServer(() => undefined);
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    port = (blackhole.address() as { port: number }).port;
    nats = await startNats();
  });

  afterAll(async () => {
    blackhole.close();
    await nats?.destroy();
  });

  it('answers 503 with a retry hint within the stated timeout when the engine hangs', async () => {
    const slow = await searchFixture({
      qdrantUrl: `http://127.0.0.1:${port}`,
      timeoutMs: 400,
      natsUrl: nats.url,
    });
    try {
      const started = Date.now();
      const error = await slow.query(slow.tenant(), { query: 'anything' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).status).toBe(503);
      expect((error as AppError).retryAfter).toBeGreaterThan(0);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await slow.close();
    }
  });
});
