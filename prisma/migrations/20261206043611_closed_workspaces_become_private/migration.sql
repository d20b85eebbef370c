-- Until this release a CLOSED workspace was invisible to everyone but its members: that is what
-- PRIVATE means now, while CLOSED is listed to the account with a lock. Existing closed
-- workspaces keep their invisibility. (Its own migration: PostgreSQL refuses to use an enum value
-- in the transaction that added it.)
UPDATE "Workspace" SET "type" = 'PRIVATE' WHERE "type" = 'CLOSED';
