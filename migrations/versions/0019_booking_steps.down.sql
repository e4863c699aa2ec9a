DROP TABLE offline_vendor.hotel_orders;
DROP FUNCTION bookings_to_settle(timestamptz, integer);

-- Bookings this revision's states describe go back to the single `failed` of before, flagged
-- for review when their outcome at the vendor is not known.
ALTER TABLE bookings DISABLE TRIGGER trg_bookings_status_transition;
UPDATE bookings SET status = 'failed', attributes = attributes || '{"needs_review": true}'
WHERE status IN ('ordering', 'needs_review');
UPDATE bookings SET status = 'failed' WHERE status = 'pending';
ALTER TABLE bookings ENABLE TRIGGER trg_bookings_status_transition;

UPDATE analytics_events SET event_type = 'booking_failed',
    properties = properties || '{"needs_review": true}'
WHERE event_type = 'booking_needs_review';
ALTER TABLE analytics_events DROP CONSTRAINT ck_analytics_events_event_type;
ALTER TABLE analytics_events ADD CONSTRAINT ck_analytics_events_event_type CHECK (event_type IN (
    'user_signed_up', 'user_logged_in', 'consent_changed',
    'session_started', 'message_sent', 'tool_called', 'turn_completed',
    'search_performed',
    'booking_created', 'booking_confirmed', 'booking_cancelled', 'booking_failed',
    'feedback_given', 'data_exported', 'user_forgotten'));

CREATE OR REPLACE FUNCTION bookings_status_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
        (OLD.status = 'pending' AND NEW.status IN ('confirmed', 'failed'))
        OR (OLD.status = 'confirmed' AND NEW.status = 'cancelled')
    ) THEN
        RAISE EXCEPTION 'a % booking cannot become %', OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_bookings_status_transition';
    END IF;
    RETURN NEW;
END
$$;

DROP INDEX ix_bookings_unsettled;
ALTER TABLE bookings DROP COLUMN settle_after;
ALTER TABLE bookings DROP CONSTRAINT ck_bookings_status;
ALTER TABLE bookings ADD CONSTRAINT ck_bookings_status CHECK (
    status IN ('pending', 'confirmed', 'cancelled', 'failed'));
