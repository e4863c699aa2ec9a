-- A booking commits each step before the vendor is called: `pending` (the claim on the
-- idempotency key, with its items), `ordering` (just before the first order is sent), then
-- `confirmed`, `failed` or `needs_review` (the vendor's answer could not be known). A process
-- that dies between two steps leaves the booking in `pending` or `ordering`; past its
-- `settle_after` the reconciler asks the vendor and settles it.
ALTER TABLE bookings DROP CONSTRAINT ck_bookings_status;
ALTER TABLE bookings ADD CONSTRAINT ck_bookings_status CHECK (
    status IN ('pending', 'ordering', 'confirmed', 'needs_review', 'cancelled', 'failed'));

-- When the reconciler may step in, renewed by the process at each step; it doubles as that
-- process's fencing token (a settlement it did not write means someone else took over).
ALTER TABLE bookings ADD COLUMN settle_after timestamptz DEFAULT now();
UPDATE bookings SET settle_after = NULL WHERE status NOT IN ('pending', 'ordering');
CREATE INDEX ix_bookings_unsettled ON bookings (settle_after)
    WHERE status IN ('pending', 'ordering');

CREATE OR REPLACE FUNCTION bookings_status_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
        (OLD.status = 'pending' AND NEW.status IN ('ordering', 'failed'))
        OR (OLD.status = 'ordering' AND NEW.status IN ('confirmed', 'failed', 'needs_review'))
        OR (OLD.status = 'needs_review' AND NEW.status IN ('confirmed', 'failed'))
        -- An order that turned up after the booking failed, and would not be cancelled.
        OR (OLD.status = 'failed' AND NEW.status = 'needs_review')
        OR (OLD.status = 'confirmed' AND NEW.status = 'cancelled')
    ) THEN
        RAISE EXCEPTION 'a % booking cannot become %', OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_bookings_status_transition';
    END IF;
    RETURN NEW;
END
$$;

-- Before this revision an unknown outcome was a `failed` booking flagged in its attributes.
ALTER TABLE bookings DISABLE TRIGGER trg_bookings_status_transition;
UPDATE bookings SET status = 'needs_review', attributes = attributes - 'needs_review'
WHERE status = 'failed' AND attributes @> '{"needs_review": true}';
ALTER TABLE bookings ENABLE TRIGGER trg_bookings_status_transition;

ALTER TABLE analytics_events DROP CONSTRAINT ck_analytics_events_event_type;
ALTER TABLE analytics_events ADD CONSTRAINT ck_analytics_events_event_type CHECK (event_type IN (
    'user_signed_up', 'user_logged_in', 'consent_changed',
    'session_started', 'message_sent', 'tool_called', 'turn_completed',
    'search_performed',
    'booking_created', 'booking_confirmed', 'booking_cancelled', 'booking_failed',
    'booking_needs_review',
    'feedback_given', 'data_exported', 'user_forgotten'));

-- The unsettled bookings of every tenant whose time is up, oldest first: ids only, so that
-- the reconciler then reads and settles each under its own tenant's row-level security.
CREATE FUNCTION bookings_to_settle(due timestamptz, how_many integer)
RETURNS TABLE (tenant_id uuid, booking_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT b.tenant_id, b.id FROM public.bookings b
    WHERE b.status IN ('pending', 'ordering') AND b.settle_after <= due
    ORDER BY b.settle_after
    LIMIT how_many
$$;
REVOKE EXECUTE ON FUNCTION bookings_to_settle(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bookings_to_settle(timestamptz, integer) TO travelhub_app;

-- The offline vendor's hotel desk keeps its reservations too, so that it can be asked for one
-- by the key it was made with, as a real hotel system can.
CREATE TABLE offline_vendor.hotel_orders (
    order_id     varchar(64) PRIMARY KEY,
    offer_id     varchar(255) NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    cancelled_at timestamptz
);
GRANT SELECT, INSERT, UPDATE ON offline_vendor.hotel_orders TO travelhub_app;
