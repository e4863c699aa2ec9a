-- A booking's status moves only along its life cycle: pending -> confirmed -> cancelled, or
-- pending -> failed. The application checks the same (tools/booking_status.py); this makes a
-- hand-written UPDATE obey it too.
CREATE FUNCTION bookings_status_transition() RETURNS trigger
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

CREATE TRIGGER trg_bookings_status_transition BEFORE UPDATE OF status ON bookings
    FOR EACH ROW EXECUTE FUNCTION bookings_status_transition();
