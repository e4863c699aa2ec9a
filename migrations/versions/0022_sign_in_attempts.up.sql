-- The sign-in attempt limits' store when Redis is down or not configured
-- (accounts/attempt_limits.py): one row per failed password sign-in, under a keyed hash
-- (HMAC-SHA-256) of "account:<email>" or "address:<client address>".
--
-- No tenant and no row-level security, on purpose: a sign-in attempt comes before any tenant
-- is known (the address typed may belong to no account at all), and the runtime role must
-- count failures for every key. Nothing here is personal data: the hash is keyed with the
-- app's secret, so it names no address, email or person even to someone who guesses them;
-- rows older than a day (the longest window) are deleted by `travelhub maintain`.
CREATE TABLE sign_in_failures (
    key_hash  char(64)    NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT pk_sign_in_failures PRIMARY KEY (key_hash, failed_at)
);
GRANT SELECT, INSERT ON sign_in_failures TO travelhub_app;

ALTER TABLE analytics_events DROP CONSTRAINT ck_analytics_events_event_type;
ALTER TABLE analytics_events ADD CONSTRAINT ck_analytics_events_event_type CHECK (event_type IN (
    'user_signed_up', 'user_logged_in', 'sign_in_limited', 'consent_changed',
    'session_started', 'message_sent', 'tool_called', 'turn_completed',
    'search_performed',
    'booking_created', 'booking_confirmed', 'booking_cancelled', 'booking_failed',
    'booking_needs_review',
    'feedback_given', 'data_exported', 'user_forgotten'));
