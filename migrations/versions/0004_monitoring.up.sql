-- The design's section 7 queries, runnable as written. Its "unused indexes" query names
-- pg_stat_user_indexes columns `tablename` and `indexname`, which PostgreSQL calls `relname`
-- and `indexrelname`. This schema shadows the catalog view with one that has both spellings;
-- monitoring sessions put it first: SET search_path = monitoring, pg_catalog, public.
CREATE SCHEMA monitoring;

CREATE VIEW monitoring.pg_stat_user_indexes AS
SELECT s.*, s.relname AS tablename, s.indexrelname AS indexname
FROM pg_catalog.pg_stat_user_indexes s;

GRANT USAGE ON SCHEMA monitoring TO pg_monitor;
GRANT SELECT ON monitoring.pg_stat_user_indexes TO pg_monitor;
