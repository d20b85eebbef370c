import { defineConfig } from 'prisma/config';

// Migrations are authored and applied without Prisma's native schema engine (DESIGN.md §5):
// `npm run db:migration` and `npm run db:migrate`. The CLI is only used for `generate`.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
