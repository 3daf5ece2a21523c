import { type EventEmitter, once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, flushLogs, requestLogger } from './index.js';

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

  it('redacts credentials in request lines, whose logger skips only the wildcard paths', () => {
    const { lines, destination } = capture();
    const log = requestLogger(createLogger({ service: 'gateway', version: '0', destination }));
    log.child({ request_id: 'r1' }).info({
      authorization: 'Bearer kb_live_top',
      headers: { authorization: 'Bearer kb_live_secret', 'kb-context': 'eyJ.signed' },
      req: { headers: { authorization: 'Bearer kb_live_other', cookie: 'session=1' } },
      route: '/v1/tokens',
    });
    const text = JSON.stringify(lines[0]);
    for (const secret of ['kb_live_top', 'kb_live_secret', 'eyJ.signed', 'kb_live_other', 'session=1'])
      expect(text).not.toContain(secret);
    expect(lines[0]).toMatchObject({ request_id: 'r1', route: '/v1/tokens', service: 'gateway' });
  });

  it('writes buffered lines out synchronously on flushLogs, before an exit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kb-log-'));
    const file = join(dir, 'out.log');
    const destination = pino.destination({ dest: file, sync: false, minLength: 4096 });
    await once(destination as unknown as EventEmitter, 'ready');
    const log = createLogger({ service: 'usage', version: '0', destination });
    try {
      log.info('last words');
      flushLogs(log);
      expect(readFileSync(file, 'utf8')).toContain('last words');
    } finally {
      destination.end();
      rmSync(dir, { recursive: true, force: true });
    }
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

  it('writes the trace and the request fields together, a line’s own fields over theirs, fresh on every line', () => {
    const { lines, destination } = capture();
    let rid = 0;
    const log = createLogger({
      service: 'usage',
      version: '0',
      destination,
      fields: () => ({ org_id: 'org_a', request_id: `r${++rid}` }),
    });
    const span = trace.wrapSpanContext({ traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), traceFlags: 1 });
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    try {
      context.with(trace.setSpan(context.active(), span), () => {
        log.info({ org_id: 'org_line', took_ms: 1 }, 'first');
        log.info('second');
      });
    } finally {
      context.disable();
    }
    expect(lines[0]).toMatchObject({
      trace_id: 'c'.repeat(32),
      org_id: 'org_line',
      request_id: 'r1',
      took_ms: 1,
    });
    expect(lines[1]).toMatchObject({ trace_id: 'c'.repeat(32), org_id: 'org_a', request_id: 'r2' });
    expect(lines[1]).not.toHaveProperty('took_ms');
  });
});
