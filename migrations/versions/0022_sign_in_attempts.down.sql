DELETE FROM analytics_events WHERE event_type = 'sign_in_limited';
ALTER TABLE analytics_events DROP CONSTRAINT ck_analytics_events_event_type;
ALTER TABLE analytics_events ADD CONSTRAINT ck_analytics_events_event_type CHECK (event_type IN (
    'user_signed_up', 'user_logged_in', 'consent_changed',
    'session_started', 'message_sent', 'tool_called', 'turn_completed',
    'search_performed',
    'booking_created', 'booking_confirmed', 'booking_cancelled', 'booking_failed',
    'booking_needs_review',
    'feedback_given', 'data_exported', 'user_forgotten'));

DROP TABLE sign_in_failures;
