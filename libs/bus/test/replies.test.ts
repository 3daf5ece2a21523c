import {
  headers,
  type Msg,
  type NatsConnection,
  NoRespondersError,
  type Subscription,
} from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replyInbox } from '../src/replies.js';
import { natsConnection } from './helpers.js';

let nc: NatsConnection;

beforeAll(async () => {
  nc = await natsConnection();
});

afterAll(async () => {
  if (!nc.isClosed()) await nc.drain();
});

describe('replyInbox', () => {
  it('gives each of many concurrent requests its own reply, whatever order the replies come in', async () => {
    const held: { respond(data: string): boolean; data: Uint8Array }[] = [];
    const sub = nc.subscribe('replies.test.echo', {
      callback: (_error, msg) => {
        held.push(msg);
        // Answer in reverse order once all have arrived.
        if (held.length === 50)
          for (const m of held.reverse()) m.respond(`re:${new TextDecoder().decode(m.data)}`);
      },
    });
    const ask = replyInbox(nc);
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => ask('replies.test.echo', `q${i}`, { timeoutMs: 5_000 })),
    );
    sub.unsubscribe();
    expect(answers.map((msg) => msg.string())).toEqual(Array.from({ length: 50 }, (_, i) => `re:q${i}`));
    expect(replyInbox(nc)).toBe(ask);
  });

  it('passes headers along and answers the reply’s headers', async () => {
    const sub = nc.subscribe('replies.test.headers', {
      callback: (_error, msg) => {
        const h = headers();
        h.set('Seen', msg.headers?.get('Kb-Probe') ?? 'none');
        msg.respond('', { headers: h });
      },
    });
    const h = headers();
    h.set('Kb-Probe', 'yes');
    const reply = await replyInbox(nc)('replies.test.headers', '{}', { timeoutMs: 5_000, headers: h });
    sub.unsubscribe();
    expect(reply.headers?.get('Seen')).toBe('yes');
  });

  it('fails with NoRespondersError when nothing listens, and TimeoutError when the listener is silent', async () => {
    const ask = replyInbox(nc);
    await expect(ask('replies.test.nobody', '{}', { timeoutMs: 5_000 })).rejects.toBeInstanceOf(
      NoRespondersError,
    );
    const sub = nc.subscribe('replies.test.silent');
    const started = Date.now();
    await expect(ask('replies.test.silent', '{}', { timeoutMs: 200 })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    sub.unsubscribe();
  });

  it('ignores a reply that comes after its request timed out, and keeps answering others', async () => {
    const late: { respond(data: string): boolean }[] = [];
    const slow = nc.subscribe('replies.test.slow', { callback: (_error, msg) => void late.push(msg) });
    const fast = nc.subscribe('replies.test.fast', { callback: (_error, msg) => void msg.respond('fast') });
    const ask = replyInbox(nc);
    await expect(ask('replies.test.slow', '', { timeoutMs: 100 })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    for (const msg of late) msg.respond('too late');
    expect((await ask('replies.test.fast', '', { timeoutMs: 5_000 })).string()).toBe('fast');
    slow.unsubscribe();
    fast.unsubscribe();
  });

  it('fails the requests waiting on an inbox subscription that closes, and answers the next on a new one', async () => {
    const own = await natsConnection();
    try {
      const held: { respond(data: string): boolean }[] = [];
      const sub = own.subscribe('replies.test.held', { callback: (_error, msg) => void held.push(msg) });
      const ask = replyInbox(own);
      const waiting = ask('replies.test.held', '', { timeoutMs: 30_000 });
      await own.flush();
      // The connection's subscriptions, by the client's own record of them: the inbox's is `_INBOX.<id>.*`.
      const internal = own as unknown as { protocol: { subscriptions: { all(): Subscription[] } } };
      const inboxes = internal.protocol.subscriptions
        .all()
        .filter((s) => /^_INBOX\.\w+\.\*$/.test(s.getSubject()));
      expect(inboxes).toHaveLength(1);
      const started = Date.now();
      inboxes[0]?.unsubscribe();
      await expect(waiting).rejects.toThrow(/reply subscription closed/);
      expect(Date.now() - started).toBeLessThan(5_000);
      for (const msg of held) msg.respond('too late');
      sub.unsubscribe();
      const echo = own.subscribe('replies.test.again', {
        callback: (_error, msg) => void msg.respond('again'),
      });
      expect((await ask('replies.test.again', '', { timeoutMs: 5_000 })).string()).toBe('again');
      echo.unsubscribe();
    } finally {
      await own.close();
    }
  });

  it('publishes the requests made during one turn of the event loop in one socket write, in order', async () => {
    const own = await natsConnection();
    try {
      const seen: string[] = [];
      const sub = own.subscribe('replies.test.batch', {
        callback: (_error, msg) => {
          seen.push(msg.string());
          msg.respond(msg.string());
        },
      });
      await own.flush();
      // The client's transport, by its own record: every socket write goes through `send`.
      const transport = (own as unknown as { protocol: { transport: { send(frame: Uint8Array): void } } })
        .protocol.transport;
      const send = transport.send.bind(transport);
      const frames: string[] = [];
      transport.send = (frame) => {
        frames.push(new TextDecoder().decode(frame));
        send(frame);
      };
      const ask = replyInbox(own);
      // Each request from its own callback, as requests arriving on different HTTP connections are: the
      // client would otherwise write at the end of each.
      const asked = await new Promise<Promise<Msg>[]>((resolve) => {
        const made: Promise<Msg>[] = [];
        for (let i = 0; i < 20; i += 1)
          setImmediate(() => {
            made.push(ask('replies.test.batch', `b${i}`, { timeoutMs: 5_000 }));
            if (made.length === 20) resolve(made);
          });
      });
      const answers = await Promise.all(asked);
      transport.send = send;
      sub.unsubscribe();
      expect(answers.map((msg) => msg.string())).toEqual(Array.from({ length: 20 }, (_, i) => `b${i}`));
      expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => `b${i}`));
      const withRequests = frames.filter((frame) => frame.includes('replies.test.batch'));
      expect(withRequests).toHaveLength(1);
      expect(withRequests[0]?.match(/PUB replies\.test\.batch /g)).toHaveLength(20);
    } finally {
      await own.close();
    }
  });

  it('fails a request whose connection closes before the request went out', async () => {
    const own = await natsConnection();
    const ask = replyInbox(own);
    const asked = ask('replies.test.echo', '', { timeoutMs: 30_000 });
    const started = Date.now();
    await own.close();
    await expect(asked).rejects.toThrow(/closed/i);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('refuses requests once the connection is closed', async () => {
    const own = await natsConnection();
    const ask = replyInbox(own);
    await own.close();
    await expect(ask('replies.test.echo', '', { timeoutMs: 5_000 })).rejects.toMatchObject({
      name: 'ClosedConnectionError',
    });
  });
});
