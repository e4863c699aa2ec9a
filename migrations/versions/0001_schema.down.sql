DROP MATERIALIZED VIEW IF EXISTS mv_daily_metrics;
DROP TABLE IF EXISTS analytics_events, booking_items, hotel_bookings, flight_bookings, bookings,
    hotel_search_cache, flight_search_cache, chat_messages, chat_sessions, oauth_accounts, users,
    tenants CASCADE;
DROP FUNCTION IF EXISTS chat_messages_count_inserted(), chat_messages_count_deleted(),
    ensure_monthly_partition(regclass, date), current_tenant_id(), set_updated_at(),
    uuid_generate_v7();
