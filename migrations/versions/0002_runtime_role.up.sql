-- The role the application connects as: not the owner, not superuser, not BYPASSRLS, so every
-- query it makes obeys row-level security. Roles are cluster-wide: create it once.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'travelhub_app') THEN
        CREATE ROLE travelhub_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
END
$$;

DO $$
BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO travelhub_app', current_database());
END
$$;
GRANT USAGE ON SCHEMA public TO travelhub_app;

GRANT SELECT ON tenants TO travelhub_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON
    users, oauth_accounts, chat_sessions, chat_messages, bookings, booking_items,
    flight_bookings, hotel_bookings, analytics_events,
    flight_search_cache, hotel_search_cache
TO travelhub_app;

-- Partition upkeep is an operator's job.
REVOKE EXECUTE ON FUNCTION ensure_monthly_partition(regclass, date) FROM PUBLIC;
