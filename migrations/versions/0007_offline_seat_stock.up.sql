-- The offline inventory stands in for an airline's reservation system, so its seat stock
-- lives where every process of the app sees the same figures (web workers, `travelhub chat`
-- run once per turn) and survives restarts. It is the vendor's state, not tenant data: no
-- tenant_id, no row-level security, and no personal data (order ids and flights only). Its own
-- schema keeps it apart from the product's tables and from their models.
CREATE SCHEMA offline_vendor;

-- One row per flight the vendor has sold seats on (or an operator set a capacity for); a
-- flight without a row is unsold, at the capacity its aircraft has.
CREATE TABLE offline_vendor.flight_seats (
    flight   varchar(64) PRIMARY KEY,  -- number, leg, UTC departure: TP1351 LIS-LHR 2027-01-15T09:05Z
    capacity integer NOT NULL CONSTRAINT ck_flight_seats_capacity CHECK (capacity > 0),
    sold     integer NOT NULL DEFAULT 0 CONSTRAINT ck_flight_seats_sold CHECK (sold >= 0),
    -- The last word against overbooking, whatever a client gets wrong.
    CONSTRAINT ck_flight_seats_not_oversold CHECK (sold <= capacity)
);

-- Which seats each order holds, so that cancelling gives them back exactly once and a
-- retried order (same id) does not take them twice.
CREATE TABLE offline_vendor.flight_orders (
    order_id     varchar(64) PRIMARY KEY,
    flights      varchar(64)[] NOT NULL,
    seats        integer NOT NULL CONSTRAINT ck_flight_orders_seats CHECK (seats > 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    cancelled_at timestamptz
);

GRANT USAGE ON SCHEMA offline_vendor TO travelhub_app;
GRANT SELECT, INSERT, UPDATE ON offline_vendor.flight_seats, offline_vendor.flight_orders
TO travelhub_app;
