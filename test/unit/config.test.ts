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

  it.each([
    ['REDIS_SENTINELS', { REDIS_SENTINELS: 'localhost', REDIS_SENTINEL_NAME: 'main' }],
    ['REDIS_CLUSTER_NODES', { REDIS_CLUSTER_NODES: 'a:1,b' }],
    ['REDIS_SENTINEL_NAME', { REDIS_SENTINELS: 'a:26379' }],
    ['REDIS_SENTINEL_NAME', { REDIS_SENTINEL_NAME: 'main' }],
    ['REDIS_CLUSTER_NODES', { REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: 'a:7000' }],
    ['REDIS_CLUSTER_NODES', { REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_NAME: 'm', REDIS_CLUSTER_NODES: 'a:7000' }],
    ['REDIS_CLUSTER_NODES', { REDIS_URL: 'redis://a:6379', REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_NAME: 'm' }],
    ['DATABASE_DIRECT_URL', { DATABASE_DIRECT_URL: 'postgres://db:5432/x' }],
    ['EVENT_RETENTION_HOURS', { EVENT_RETENTION_HOURS: '0' }],
    ['SHUTDOWN_TIMEOUT_MS', { SHUTDOWN_TIMEOUT_MS: 'soon' }],
    ['DATABASE_POOL_MAX', { DATABASE_URL: 'postgres://db:5432/x', DATABASE_POOL_MAX: '0' }],
    ['DATABASE_POOL_MAX', { DATABASE_URL: 'postgres://db:5432/x', DATABASE_POOL_MAX: 'many' }],
  ])('refuses a bad %s (or combination) with one line naming it: %j', (name, env) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(new RegExp(`^Invalid ${name}=`));
    expect((error as Error).message).not.toContain('\n');
  });

  it('reads Redis in each of its three modes', () => {
    expect(loadConfig({ REDIS_URL: 'redis://r:6379' }).redis).toBe('redis://r:6379');
    expect(loadConfig({ REDIS_SENTINELS: 's1:26379,s2:26380', REDIS_SENTINEL_NAME: 'main' }).redis).toEqual({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      name: 'main',
    });
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'c1:7000,c2:7001' }).redis).toEqual({
      clusterNodes: [
        { host: 'c1', port: 7000 },
        { host: 'c2', port: 7001 },
      ],
    });
    expect(loadConfig({}).redis).toBeUndefined();
  });

  it('refuses JWT_SECRET together with JWKS_URL', () => {
    expect(() => loadConfig({ JWT_SECRET: 'x'.repeat(40), JWKS_URL: 'https://idp.example/jwks' })).toThrow(/JWKS_URL/);
  });
});
