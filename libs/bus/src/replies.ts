import {
  createInbox,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  NoRespondersError,
  type Subscription,
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
  /** The subscription its reply is to come on. */
  listener: Subscription;
}

const inboxes = new WeakMap<NatsConnection, ReplyInbox>();

/**
 * Request/reply over one wildcard inbox subscription per connection, as `nc.request` does, with the same
 * errors (`NoRespondersError` when nothing listens on the subject, `TimeoutError`, the connection's own when it
 * is closed or draining), but without what nats.js spends per request beyond the publish: it settles every
 * request by also rejecting an already-resolved promise with a new error, stack trace included, which made up
 * a twentieth of the gateway's work on a cached-key request. Should the inbox subscription close while the
 * connection stays open (unsubscribed, or refused by the server), the requests waiting on it fail at once
 * and the next request opens a new one.
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
  const failAll = (listener: Subscription, error: unknown) => {
    for (const [token, request] of [...waiting])
      if (request.listener === listener) settle(token)?.reject(error);
  };
  /** A subscription to `<prefix>*` whose messages settle the waiting request named by the last token. */
  const listen = () => {
    const prefix = `${createInbox()}.`;
    const listener: Subscription = nc.subscribe(`${prefix}*`, {
      callback: (error, msg) => {
        if (error) {
          failAll(listener, error);
          return;
        }
        const request = settle(msg.subject.slice(prefix.length));
        if (!request) return;
        if (msg.data.length === 0 && msg.headers?.code === 503)
          request.reject(new NoRespondersError(request.subject));
        else request.resolve(msg);
      },
    });
    void listener.closed.then(
      () => failAll(listener, new Error('the reply subscription closed')),
      (error: unknown) => failAll(listener, error),
    );
    return { prefix, listener };
  };
  let current: ReturnType<typeof listen> | null = null;
  // Requests made during one turn of the event loop are published together once its I/O callbacks have run:
  // nats.js writes its buffer to the socket at the end of each callback that published, so publishing each
  // request where it is made costs a socket write apiece, the largest single cost of a request on a busy
  // gateway. Together they go out in one write, in the order they were made.
  let queued: (() => void)[] = [];
  const sendQueued = () => {
    const sends = queued;
    queued = [];
    for (const send of sends) send();
  };

  return (subject, payload, options) =>
    new Promise<Msg>((resolve, reject) => {
      try {
        // Subscribing again on a closed connection throws its ClosedConnectionError, as publishing would.
        if (!current || current.listener.isClosed()) current = listen();
      } catch (error) {
        reject(error);
        return;
      }
      const { prefix, listener } = current;
      next = (next + 1) % Number.MAX_SAFE_INTEGER;
      const token = next.toString(36);
      const timer = setTimeout(() => settle(token)?.reject(new TimeoutError()), options.timeoutMs);
      waiting.set(token, { subject, resolve, reject, timer, listener });
      const send = () => {
        try {
          nc.publish(subject, payload, {
            reply: `${prefix}${token}`,
            ...(options.headers ? { headers: options.headers } : {}),
          });
        } catch (error) {
          settle(token);
          reject(error);
        }
      };
      if (queued.push(send) === 1) setImmediate(sendQueued);
    });
}
