import type { Redis } from 'ioredis';

/** One unit of ingestion work: a version of a document in a workspace. */
export interface IngestTask {
  org: string;
  ws: string;
  documentId: string;
  version: number;
  /** When the task entered the fair queue (epoch ms), for latency measurements. */
  enqueuedAt: number;
  /**
   * The trace context of the request that queued the task (W3C `traceparent`/`tracestate` as JSON, BullMQ's
   * telemetry metadata), so its job continues that request's trace; absent for work the sweeper re-queues.
   */
  trace?: string;
  /** The request id of that request, for the job's log lines. */
  requestId?: string;
}

/** BullMQ job id of a task (BullMQ refuses `:` in custom ids). */
export const jobIdOf = (task: Pick<IngestTask, 'documentId' | 'version'>) =>
  `${task.documentId}-v${task.version}`;

/**
 * Fair scheduling in front of BullMQ, which (in its open-source edition) serves one FIFO for everybody.
 *
 * Tasks wait in Redis in one list per workspace. Organizations take turns in a ring, and within an
 * organization its workspaces take turns in a second ring; each turn moves one task. A dispatcher moves
 * tasks from the rings into the BullMQ queue only while that queue is short (a few jobs per worker), so a
 * backlog of thousands stays here, in its own list, and another tenant's single document is next in line
 * after at most one task of every other waiting organization. All moves are Lua scripts, atomic in Redis.
 *
 * A task taken out of the rings is recorded as in flight until its BullMQ job exists (`confirm`); if the
 * dispatching process dies in between, `recover` adds it again (job ids are deterministic, so at most once).
 * Keys share the `{fair}` hash tag, so the scripts also run on a Redis Cluster.
 */
export interface FairQueue {
  /** Adds a task unless the same document version is already waiting; true when added. */
  enqueue(task: IngestTask): Promise<boolean>;
  /** Takes up to `count` tasks, one per turn of the rings, and marks them in flight. */
  take(count: number): Promise<IngestTask[]>;
  /** The tasks' jobs exist now. */
  confirm(tasks: IngestTask[]): Promise<void>;
  /** In-flight tasks older than `olderThanMs` (their dispatcher died), to be dispatched again. */
  stale(olderThanMs: number): Promise<IngestTask[]>;
  /** Whether the task is waiting in the rings or in flight. */
  holds(task: IngestTask): Promise<boolean>;
  /** Tasks waiting in the rings. */
  waiting(): Promise<number>;
}

const ENQUEUE = `
if redis.call('SADD', KEYS[3], ARGV[4]) == 0 then return 0 end
local queue = ARGV[1] .. ':q:' .. ARGV[2] .. ':' .. ARGV[3]
redis.call('RPUSH', queue, ARGV[5])
local ring = ARGV[1] .. ':ws:' .. ARGV[2]
if redis.call('SADD', ARGV[1] .. ':wsset:' .. ARGV[2], ARGV[3]) == 1 then redis.call('RPUSH', ring, ARGV[3]) end
if redis.call('SADD', KEYS[2], ARGV[2]) == 1 then redis.call('RPUSH', KEYS[1], ARGV[2]) end
return 1
`;

const TAKE = `
local out = {}
for i = 1, tonumber(ARGV[2]) do
  local org = redis.call('LPOP', KEYS[1])
  if not org then break end
  local ring = ARGV[1] .. ':ws:' .. org
  local ws = redis.call('LPOP', ring)
  if ws then
    local queue = ARGV[1] .. ':q:' .. org .. ':' .. ws
    local entry = redis.call('LPOP', queue)
    if redis.call('LLEN', queue) > 0 then redis.call('RPUSH', ring, ws)
    else redis.call('SREM', ARGV[1] .. ':wsset:' .. org, ws) end
    if entry then
      local sep = string.find(entry, '|', 1, true)
      local id = string.sub(entry, 1, sep - 1)
      redis.call('SREM', KEYS[3], id)
      redis.call('HSET', KEYS[4], id, entry)
      redis.call('ZADD', KEYS[5], ARGV[3], id)
      table.insert(out, entry)
    end
  end
  if redis.call('LLEN', ring) > 0 then redis.call('RPUSH', KEYS[1], org)
  else redis.call('SREM', KEYS[2], org) end
end
return out
`;

type FairRedis = Redis & {
  kbFairEnqueue(...args: (string | number)[]): Promise<number>;
  kbFairTake(...args: (string | number)[]): Promise<string[]>;
};

export function createFairQueue(redis: Redis, prefix: string): FairQueue {
  const base = `${prefix}:{fair}`;
  const keys = {
    orgs: `${base}:orgs`,
    orgSet: `${base}:orgset`,
    pending: `${base}:pending`,
    inflight: `${base}:inflight`,
    inflightAt: `${base}:inflight-at`,
  };
  if (!('kbFairEnqueue' in redis)) {
    redis.defineCommand('kbFairEnqueue', { numberOfKeys: 3, lua: ENQUEUE });
    redis.defineCommand('kbFairTake', { numberOfKeys: 5, lua: TAKE });
  }
  const r = redis as FairRedis;
  const encode = (task: IngestTask) => `${jobIdOf(task)}|${JSON.stringify(task)}`;
  const decode = (entry: string) => JSON.parse(entry.slice(entry.indexOf('|') + 1)) as IngestTask;

  return {
    async enqueue(task) {
      const added = await r.kbFairEnqueue(
        keys.orgs,
        keys.orgSet,
        keys.pending,
        base,
        task.org,
        task.ws,
        jobIdOf(task),
        encode(task),
      );
      return added === 1;
    },
    async take(count) {
      if (count <= 0) return [];
      const entries = await r.kbFairTake(
        keys.orgs,
        keys.orgSet,
        keys.pending,
        keys.inflight,
        keys.inflightAt,
        base,
        count,
        Date.now(),
      );
      return entries.map(decode);
    },
    async confirm(tasks) {
      if (tasks.length === 0) return;
      const ids = tasks.map(jobIdOf);
      await redis
        .multi()
        .hdel(keys.inflight, ...ids)
        .zrem(keys.inflightAt, ...ids)
        .exec();
    },
    async stale(olderThanMs) {
      const ids = await redis.zrangebyscore(keys.inflightAt, 0, Date.now() - olderThanMs, 'LIMIT', 0, 500);
      if (ids.length === 0) return [];
      const entries = await redis.hmget(keys.inflight, ...ids);
      return entries.filter((entry): entry is string => entry !== null).map(decode);
    },
    async holds(task) {
      const id = jobIdOf(task);
      const [pending, inflight] = await Promise.all([
        redis.sismember(keys.pending, id),
        redis.hexists(keys.inflight, id),
      ]);
      return pending === 1 || inflight === 1;
    },
    waiting: () => redis.scard(keys.pending),
  };
}
