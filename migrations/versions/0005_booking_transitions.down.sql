DROP TRIGGER IF EXISTS trg_bookings_status_transition ON bookings;
DROP FUNCTION IF EXISTS bookings_status_transition();
