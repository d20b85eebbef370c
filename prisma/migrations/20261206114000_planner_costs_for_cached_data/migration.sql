-- The planner's cost of reading a random page, for this database's sessions: 1.1 rather than the
-- default of 4, which prices a random read of a spinning disk. What a request reads is in
-- PostgreSQL's cache (or on SSD), where a random page costs about what a sequential one does.
-- With 4, a small table (the updates of a fresh list, its people) was read by a sequential scan
-- once per item of a list page instead of one index look-up: about a third more PostgreSQL CPU
-- per list page (README, "PostgreSQL settings"). A role that may not ALTER DATABASE leaves the
-- setting to whoever administers the server.
DO $$
BEGIN
  EXECUTE format('ALTER DATABASE %I SET random_page_cost = 1.1', current_database());
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'random_page_cost left as it is: this role may not ALTER DATABASE %', current_database();
END
$$;
