import {
  createInbox,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  NoRespondersError,
  TimeoutError,
} from '@nats-io/transport-node';

export interface ReplyOptions {
  timeoutMs: number;
  headers?: MsgHdrs;
}

/** Request/reply: publishes `payload` to `subject` and resolves with the first reply. */
export type ReplyInbox = (subject: string, payload: string, options: ReplyOptions) => Promise<Msg>;

interface Waiting {
  subject: string;
  resolve(msg: Msg): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout;
}

const inboxes = new WeakMap<NatsConnection, ReplyInbox>();

/**
 * Request/reply over one wildcard inbox subscription per connection, as `nc.request` does, with the same
 * errors (`NoRespondersError` when nothing listens on the subject, `TimeoutError`, the connection's own when it
 * is closed or draining), but without what nats.js spends per request beyond the publish: it settles every
 * request by also rejecting an already-resolved promise with a new error, stack trace included, which made up
 * a twentieth of the gateway's work on a cached-key request.
 */
export function replyInbox(nc: NatsConnection): ReplyInbox {
  let inbox = inboxes.get(nc);
  if (!inbox) {
    inbox = openInbox(nc);
    inboxes.set(nc, inbox);
  }
  return inbox;
}

function openInbox(nc: NatsConnection): ReplyInbox {
  const prefix = `${createInbox()}.`;
  const waiting = new Map<string, Waiting>();
  let next = 0;
  const settle = (token: string) => {
    const request = waiting.get(token);
    if (request) {
      waiting.delete(token);
      clearTimeout(request.timer);
    }
    return request;
  };
  const failAll = (error: unknown) => {
    for (const token of [...waiting.keys()]) settle(token)?.reject(error);
  };
  const subscription = nc.subscribe(`${prefix}*`, {
    callback: (error, msg) => {
      if (error) {
        failAll(error);
        return;
      }
      const request = settle(msg.subject.slice(prefix.length));
      if (!request) return;
      if (msg.data.length === 0 && msg.headers?.code === 503)
        request.reject(new NoRespondersError(request.subject));
      else request.resolve(msg);
    },
  });
  void subscription.closed.then(
    () => failAll(new Error('the reply subscription closed')),
    (error: unknown) => failAll(error),
  );

  return (subject, payload, options) =>
    new Promise<Msg>((resolve, reject) => {
      next = (next + 1) % Number.MAX_SAFE_INTEGER;
      const token = next.toString(36);
      const timer = setTimeout(() => settle(token)?.reject(new TimeoutError()), options.timeoutMs);
      waiting.set(token, { subject, resolve, reject, timer });
      try {
        nc.publish(subject, payload, {
          reply: `${prefix}${token}`,
          ...(options.headers ? { headers: options.headers } : {}),
        });
      } catch (error) {
        settle(token);
        reject(error);
      }
    });
}
