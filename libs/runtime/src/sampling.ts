import { SAMPLING_BUCKET, SAMPLING_DEFAULT_KEY } from '@kb/contracts';
import type { Logger } from '@kb/log';
import { isRatio, type SamplingPolicy } from '@kb/telemetry';
import { isId } from '@kb/tenancy';
import { Kvm, type KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

export interface SamplingFollower {
  stop(): Promise<void>;
}

/** Applies one entry of the sampling bucket to the policy; false for an entry it cannot use. */
export function applySamplingEntry(
  policy: SamplingPolicy,
  entry: Pick<KvWatchEntry, 'key' | 'operation' | 'string'>,
): boolean {
  const removed = entry.operation !== 'PUT';
  const isDefault = entry.key === SAMPLING_DEFAULT_KEY;
  if (!isDefault && !isId(entry.key, 'org')) return false;
  if (removed) {
    if (isDefault) policy.resetBase();
    else policy.clearOrg(entry.key);
    return true;
  }
  const text = entry.string().trim();
  const ratio = text === '' ? Number.NaN : Number(text);
  if (!isRatio(ratio)) return false;
  if (isDefault) policy.setBase(ratio);
  else policy.setOrg(entry.key, ratio);
  return true;
}

/**
 * Keeps the sampling policy in step with the `kb-sampling` KV bucket, so an operator raises (or lowers) one
 * organization's trace sampling at run time in every replica of every service, without a restart:
 *   nats kv put kb-sampling org_… 1      nats kv del kb-sampling org_…
 * The bucket's current values are applied first, then each change as it happens. Until the bucket can be
 * watched (JetStream still starting), the configured base ratio applies and the watch is retried.
 */
export function followSampling(
  nc: NatsConnection,
  policy: SamplingPolicy,
  log: Logger,
  retryMs = 5_000,
): SamplingFollower {
  let stopped = false;
  let current: { stop(): void } | null = null;
  let wake: () => void = () => {};

  async function watchOnce(): Promise<void> {
    const kv = await new Kvm(nc).create(SAMPLING_BUCKET, {
      history: 1,
      description: 'trace sampling ratio per organization (key: org id or "default"; value: 0..1)',
    });
    const watcher = await kv.watch();
    current = watcher;
    if (stopped) watcher.stop();
    for await (const entry of watcher) {
      if (applySamplingEntry(policy, entry)) {
        log.info(
          {
            sampling_key: entry.key,
            ratio: policy.ratioFor(entry.key === SAMPLING_DEFAULT_KEY ? undefined : entry.key),
          },
          'trace sampling ratio changed',
        );
      } else {
        log.warn(
          { sampling_key: entry.key },
          'ignored a sampling entry: key must be an organization id or "default", value a ratio from 0 to 1',
        );
      }
    }
  }

  const loop = (async () => {
    while (!stopped) {
      try {
        await watchOnce();
      } catch (error) {
        if (stopped) break;
        log.warn({ err: error }, 'cannot watch the sampling bucket; will retry');
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, retryMs).unref();
      });
    }
  })();

  return {
    async stop() {
      stopped = true;
      current?.stop();
      wake();
      await loop;
    },
  };
}
