import { afterAll, describe, expect, it } from 'vitest';
import { createLocalEmbedder } from './local.js';
import { createThreadedLocalEmbedder } from './threads.js';

const texts = (n: number, seed: string) =>
  Array.from({ length: n }, (_, i) => `${seed} chunk ${i}: rivers carry stone ${i * 7} to the harbor`);

describe('local embedder on worker threads', () => {
  const threaded = createThreadedLocalEmbedder({ dimension: 96, threads: 2 });
  const inProcess = createLocalEmbedder({ dimension: 96 });
  afterAll(() => threaded.close?.());

  it('gives exactly the vectors of the in-process embedder, in order', async () => {
    const batch = [...texts(70, 'a'), '', 'Ünïcödé 日本語 text'];
    const [offThread, onThread] = await Promise.all([threaded.embed(batch), inProcess.embed(batch)]);
    expect(offThread).toHaveLength(batch.length);
    expect(offThread).toEqual(onThread);
    expect(threaded.id).toBe(inProcess.id);
  });

  it('answers concurrent batches each with its own vectors', async () => {
    const batches = Array.from({ length: 9 }, (_, i) => texts(5 + i, `batch-${i}`));
    const answers = await Promise.all(batches.map((batch) => threaded.embed(batch)));
    for (const [i, batch] of batches.entries()) expect(answers[i]).toEqual(await inProcess.embed(batch));
  });

  it('fails the batches waiting when it is closed, and starts its threads again on the next call', async () => {
    const doomed = createThreadedLocalEmbedder({ dimension: 32, threads: 1 });
    const failed = expect(doomed.embed(texts(2_000, 'long'))).rejects.toThrow(/closed|exited/);
    // Closing ends the thread under the batch, as a crash would.
    await doomed.close?.();
    await failed;
    const [vector] = await doomed.embed(['after the thread died']);
    expect(vector).toEqual(
      (await createLocalEmbedder({ dimension: 32 }).embed(['after the thread died']))[0],
    );
    await doomed.close?.();
  });

  it('refuses a batch whose signal is aborted, and a pool of no threads', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stopped'));
    await expect(threaded.embed(['x'], { signal: controller.signal })).rejects.toThrow('stopped');
    expect(() => createThreadedLocalEmbedder({ dimension: 32, threads: 0 })).toThrow(RangeError);
  });

  it('answers an abort at once while the thread works, and goes on serving later batches', async () => {
    const controller = new AbortController();
    const long = threaded.embed(texts(3_000, 'aborted'), { signal: controller.signal });
    const failed = expect(long).rejects.toThrow('no longer needed');
    controller.abort(new Error('no longer needed'));
    await failed;
    expect(await threaded.embed(['still here'])).toEqual(await inProcess.embed(['still here']));
  });
});
