import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { diffMigrationsToSchema } from '../../scripts/schema-engine.ts';

// The drift guard (DESIGN.md §5): replaying prisma/migrations must yield exactly the schema of
// prisma/schema.prisma. When this fails, the schema changed without a migration: run
// `npm run db:migration -- <name>` and commit the folder it writes.
// Generous timeout: the engine and two PGlite databases boot in WebAssembly, several CPU-bound
// seconds that stretch when test files run in parallel.
it('prisma/migrations reach exactly prisma/schema.prisma', { timeout: 120_000 }, async () => {
  const sql = await diffMigrationsToSchema({
    migrationsDir: fileURLToPath(new URL('../../prisma/migrations/', import.meta.url)),
    schemaPath: fileURLToPath(new URL('../../prisma/schema.prisma', import.meta.url)),
  });
  expect(sql, 'schema.prisma differs from the migrations; run npm run db:migration -- <name>').toBe(
    '-- This is an empty migration.\n',
  );
});
