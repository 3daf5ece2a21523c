import { Writable } from 'node:stream';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { describe, expect, it } from 'vitest';
import { createLogger } from './index.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { lines, destination };
}

describe('createLogger', () => {
  it('writes service, version and the fields of the current request', () => {
    const { lines, destination } = capture();
    const log = createLogger({
      service: 'search',
      version: '1.2.3',
      destination,
      fields: () => ({ org_id: 'org_a', workspace_id: 'ws_b', request_id: 'r1' }),
    });
    log.info({ took_ms: 3 }, 'query answered');
    expect(lines[0]).toMatchObject({
      service: 'search',
      version: '1.2.3',
      level: 'info',
      msg: 'query answered',
      org_id: 'org_a',
      workspace_id: 'ws_b',
      request_id: 'r1',
      took_ms: 3,
    });
  });

  it('redacts credentials wherever they appear', () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: 'gateway', version: '0', destination });
    log.info({
      req: { headers: { authorization: 'Bearer kb_live_secret', 'kb-context': 'eyJ.signed' } },
      body: { key: 'kb_live_abc', name: 'ci key' },
      config: { KB_MASTER_KEY: 'master-value', KB_NATS_URL: 'nats://x' },
    });
    const text = JSON.stringify(lines[0]);
    expect(text).not.toContain('kb_live_secret');
    expect(text).not.toContain('eyJ.signed');
    expect(text).not.toContain('kb_live_abc');
    expect(text).not.toContain('master-value');
    expect(text).toContain('ci key');
    expect(text).toContain('nats://x');
  });

  it('adds the active trace and span ids', () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: 'usage', version: '0', destination });
    const spanContext = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 };
    const span = trace.wrapSpanContext(spanContext);
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    try {
      context.with(trace.setSpan(context.active(), span), () => log.info('inside'));
      log.info('outside');
    } finally {
      context.disable();
    }
    expect(lines[0]).toMatchObject({ trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16) });
    expect(lines[1]).not.toHaveProperty('trace_id');
  });
});
