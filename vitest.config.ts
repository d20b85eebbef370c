import { defineConfig } from 'vitest/config';

export default defineConfig({
  // One graphql module: Pothos loads the CommonJS build, so ESM imports must resolve to it too.
  resolve: { alias: { graphql: 'graphql/index.js' } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    env: { NODE_ENV: 'test', LOG_LEVEL: 'silent' },
  },
});
