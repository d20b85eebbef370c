import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('configuration', () => {
  it('has embedded defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      redisUrl: undefined,
      presenceTtlMs: 30_000,
    });
    expect(c.publicUrl).toBe('http://127.0.0.1:4000');
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x'],
    ['REDIS_URL', 'localhost:6379'],
    ['JWT_SECRET', 'short'],
    ['PRESENCE_TTL_MS', '-5'],
    ['LOG_LEVEL', 'loud'],
    ['NODE_ENV', 'staging'],
    ['SMTP_URL', 'mail.example.com'],
  ])('refuses %s=%s with one line naming the variable', (name, value) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message.startsWith(`Invalid ${name}=`)).toBe(true);
    expect(message).not.toContain('\n');
  });

  it('refuses JWT_SECRET together with JWKS_URL', () => {
    expect(() => loadConfig({ JWT_SECRET: 'x'.repeat(40), JWKS_URL: 'https://idp.example/jwks' })).toThrow(/JWKS_URL/);
  });
});
