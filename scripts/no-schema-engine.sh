#!/bin/sh
# Stand-in for Prisma's native schema engine, which this project never downloads (DESIGN.md §5).
# `prisma generate` only checks that the file exists; anything that actually runs it fails here,
# loudly. It must never be /bin/true: `prisma migrate deploy` would then report success having
# applied nothing. Author migrations with `npm run db:migration -- <name>`, apply them with
# `npm run db:migrate`.
echo "sharegraph: Prisma's native schema engine is not installed here; use npm run db:migration / db:migrate" >&2
exit 1
