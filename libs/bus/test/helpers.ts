import { Writable } from 'node:stream';
import { createLogger } from '@kb/log';
import { createContextSigner, createContextVerifier, newId, type TenantContext } from '@kb/tenancy';
import type { NatsConnection } from '@nats-io/transport-node';
import { inject } from 'vitest';
import { connectNats } from '../src/connect.js';
import type { Caller } from '../src/headers.js';

export const SECRET = 'bus-test-secret-'.padEnd(48, 'x');
export const signer = createContextSigner(SECRET);
export const verifier = createContextVerifier(SECRET);

export const lines: Record<string, unknown>[] = [];
export const log = createLogger({
  service: 'bus-test',
  version: '0',
  level: 'debug',
  destination: new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      callback();
    },
  }),
});

export function tenant(overrides: Partial<TenantContext> = {}): TenantContext {
  return {
    org: newId('org'),
    ws: newId('workspace'),
    kid: newId('key'),
    scopes: ['search'],
    plan: 'free',
    rid: `r-${newId('key')}`,
    ...overrides,
  };
}

export function caller(context: TenantContext = tenant()): Caller {
  return { context, token: signer.sign(context) };
}

/** A connection with the options every service connects with. */
export async function natsConnection(): Promise<NatsConnection> {
  return connectNats(inject('natsUrl'), 'bus-test', log);
}
