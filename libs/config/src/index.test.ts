import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { BaseEnv, ConfigError, Env, extendBase, loadConfig } from './index.js';

const secret = 'x'.repeat(40);

describe('loadConfig', () => {
  it('applies defaults and coerces types', () => {
    const schema = extendBase({ KB_GATEWAY_PORT: Env.port(8080), KB_FLAG: Type.Boolean({ default: false }) });
    const config = loadConfig(schema, {
      KB_CONTEXT_SECRET: secret,
      KB_GATEWAY_PORT: '9090',
      KB_FLAG: 'true',
    });
    expect(config.KB_GATEWAY_PORT).toBe(9090);
    expect(config.KB_FLAG).toBe(true);
    expect(config.KB_NATS_URL).toBe('nats://127.0.0.1:4222');
    expect(config.KB_LOG_LEVEL).toBe('info');
  });

  it('names each bad variable and fails fast', () => {
    const run = () => loadConfig(BaseEnv, { KB_NATS_URL: 'http://wrong', KB_LOG_LEVEL: 'loud' });
    expect(run).toThrow(ConfigError);
    try {
      run();
    } catch (error) {
      const message = (error as ConfigError).message;
      expect(message).toContain('KB_NATS_URL');
      expect(message).toContain('got "http://wrong"');
      expect(message).toContain('KB_LOG_LEVEL');
      expect(message).toContain('KB_CONTEXT_SECRET');
      expect(message).toContain('not set');
    }
  });

  it('never echoes a secret value', () => {
    try {
      loadConfig(BaseEnv, { KB_CONTEXT_SECRET: 'short-secret-value' });
      expect.unreachable('a short secret must be refused');
    } catch (error) {
      expect((error as Error).message).toContain('KB_CONTEXT_SECRET');
      expect((error as Error).message).not.toContain('short-secret-value');
    }
  });

  it('refuses the placeholder secrets of .env.example', () => {
    expect(() =>
      loadConfig(BaseEnv, { KB_CONTEXT_SECRET: 'change-me-to-another-long-random-string' }),
    ).toThrow(/KB_CONTEXT_SECRET/);
  });

  it('rejects an out-of-range port', () => {
    const schema = Type.Object({ PORT: Env.port(1) });
    expect(() => loadConfig(schema, { PORT: '70000' })).toThrow(/PORT/);
    expect(() => loadConfig(schema, { PORT: 'abc' })).toThrow(/PORT/);
  });
});
