REVOKE ALL ON
    tenants, users, oauth_accounts, chat_sessions, chat_messages, bookings, booking_items,
    flight_bookings, hotel_bookings, analytics_events,
    flight_search_cache, hotel_search_cache
FROM travelhub_app;
REVOKE USAGE ON SCHEMA public FROM travelhub_app;
DO $$
BEGIN
    EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM travelhub_app', current_database());
END
$$;
GRANT EXECUTE ON FUNCTION ensure_monthly_partition(regclass, date) TO PUBLIC;
