-- Global Travel Hub schema, as the database design fixes it (sections 1-3, 4.2, 4.4, 9.1).
-- Keys are UUIDv7 made by the application; uuid_generate_v7() is only the fallback default.

CREATE FUNCTION uuid_generate_v7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    -- 48-bit Unix milliseconds, then random bits, with the version (7) and variant set.
    SELECT encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                    PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                    FROM 1 FOR 6),
            52, 1), 53, 1),
        'hex')::uuid
$$;

CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- Tenants -------------------------------------------------------------------------------------

CREATE TABLE tenants (
    id          uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    slug        varchar(63)  NOT NULL,
    name        varchar(255) NOT NULL,
    status      varchar(20)  NOT NULL DEFAULT 'active',
    created_at  timestamptz  NOT NULL DEFAULT now(),
    updated_at  timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT ck_tenants_status CHECK (status IN ('active', 'suspended')),
    CONSTRAINT ck_tenants_slug CHECK (slug ~ '^[a-z0-9][a-z0-9-]*$'),
    CONSTRAINT uq_tenants_slug UNIQUE (slug)
);

INSERT INTO tenants (slug, name) VALUES ('default', 'Default tenant');

-- The tenant of the current transaction, from app.current_tenant_id: a tenant UUID or a
-- tenant slug (so the design's `SET app.current_tenant_id = 'tenant-123'` means tenant-123).
-- Anything else, or nothing, is NULL: no rows. SECURITY DEFINER lets it read `tenants`
-- whatever the caller's policies; policies call it as `(SELECT current_tenant_id())`,
-- an init-plan evaluated once per query rather than once per row.
CREATE FUNCTION current_tenant_id() RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT CASE
        WHEN setting ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
            THEN setting::uuid
        ELSE (SELECT t.id FROM public.tenants t WHERE t.slug = setting)
    END
    FROM (SELECT (SELECT current_setting('app.current_tenant_id', true)) AS setting) AS s
$$;

-- Identity ------------------------------------------------------------------------------------

CREATE TABLE users (
    id                      uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    tenant_id               uuid         NOT NULL REFERENCES tenants (id),
    email                   varchar(255) NOT NULL,
    full_name               varchar(100),
    phone                   varchar(32),
    hashed_password         varchar(255),
    role                    varchar(20)  NOT NULL DEFAULT 'user',
    status                  varchar(20)  NOT NULL DEFAULT 'active',
    locale                  varchar(16),
    preferred_currency      char(3),
    data_processing_consent boolean      NOT NULL DEFAULT false,
    consent_granted_at      timestamptz,
    marketing_consent       boolean      NOT NULL DEFAULT false,
    last_login_at           timestamptz,
    deleted_at              timestamptz,
    created_at              timestamptz  NOT NULL DEFAULT now(),
    updated_at              timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT ck_users_role CHECK (role IN ('user', 'admin')),
    CONSTRAINT ck_users_status CHECK (status IN ('active', 'suspended', 'deleted')),
    CONSTRAINT ck_users_email_lower CHECK (email = lower(email)),
    CONSTRAINT ck_users_currency CHECK (preferred_currency ~ '^[A-Z]{3}$'),
    CONSTRAINT ck_users_consent_time CHECK (NOT data_processing_consent OR consent_granted_at IS NOT NULL)
);
-- Login lookup; a soft-deleted user frees the address.
CREATE UNIQUE INDEX ux_users_email_active ON users (email) WHERE deleted_at IS NULL;
CREATE INDEX ix_users_tenant_id ON users (tenant_id);
CREATE INDEX ix_users_deleted_at ON users (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE oauth_accounts (
    id                      uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    tenant_id               uuid          NOT NULL REFERENCES tenants (id),
    user_id                 uuid          NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider                varchar(50)   NOT NULL,
    provider_account_id     varchar(255)  NOT NULL,
    provider_email          varchar(255),
    access_token_encrypted  varchar(8192),
    refresh_token_encrypted varchar(8192),
    token_expires_at        timestamptz,
    scope                   varchar(1024),
    created_at              timestamptz   NOT NULL DEFAULT now(),
    updated_at              timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT uq_oauth_accounts_provider_account UNIQUE (provider, provider_account_id)
);
CREATE INDEX ix_oauth_accounts_user_id ON oauth_accounts (user_id);

-- Chat ----------------------------------------------------------------------------------------

CREATE TABLE chat_sessions (
    id              uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    tenant_id       uuid         NOT NULL REFERENCES tenants (id),
    user_id         uuid         NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    thread_id       uuid         NOT NULL,
    checkpoint_ns   varchar(255) NOT NULL DEFAULT 'travel_agent',
    title           varchar(255),
    status          varchar(20)  NOT NULL DEFAULT 'active',
    context         jsonb        NOT NULL DEFAULT '{}'::jsonb,
    message_count   integer      NOT NULL DEFAULT 0,
    last_message_at timestamptz,
    deleted_at      timestamptz,
    created_at      timestamptz  NOT NULL DEFAULT now(),
    updated_at      timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT ck_chat_sessions_status CHECK (status IN ('active', 'archived', 'deleted')),
    CONSTRAINT ck_chat_sessions_message_count CHECK (message_count >= 0),
    CONSTRAINT uq_chat_sessions_thread_id UNIQUE (thread_id)
);
-- The history sidebar: a user's live sessions, most recently active first.
CREATE INDEX ix_chat_sessions_user_recent ON chat_sessions (user_id, updated_at DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX ix_chat_sessions_tenant_id ON chat_sessions (tenant_id);

-- Monthly partitions on created_at. The primary key includes the partition key; nothing
-- references this table, so a partition can always be detached.
CREATE TABLE chat_messages (
    id                uuid        NOT NULL DEFAULT uuid_generate_v7(),
    created_at        timestamptz NOT NULL DEFAULT now(),
    tenant_id         uuid        NOT NULL REFERENCES tenants (id),
    session_id        uuid        NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
    role              varchar(20) NOT NULL,
    content           text        NOT NULL DEFAULT '',
    tool_calls        jsonb,
    tool_call_id      varchar(255),
    tool_name         varchar(100),
    model_name        varchar(100),
    prompt_tokens     integer,
    completion_tokens integer,
    latency_ms        integer,
    attributes        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT pk_chat_messages PRIMARY KEY (id, created_at),
    CONSTRAINT ck_chat_messages_role CHECK (role IN ('user', 'assistant', 'system', 'tool')),
    CONSTRAINT ck_chat_messages_content_length CHECK (char_length(content) <= 100000),
    CONSTRAINT ck_chat_messages_tokens CHECK (
        coalesce(prompt_tokens, 0) >= 0 AND coalesce(completion_tokens, 0) >= 0
        AND coalesce(latency_ms, 0) >= 0)
) PARTITION BY RANGE (created_at);
CREATE INDEX ix_chat_messages_session_created ON chat_messages (session_id, created_at DESC);
CREATE INDEX ix_chat_messages_created_brin ON chat_messages USING brin (created_at);
CREATE TABLE chat_messages_default PARTITION OF chat_messages DEFAULT;

-- Cache (shared by all tenants: a search result is not anyone's data) -------------------------

CREATE TABLE flight_search_cache (
    id            uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    search_hash   char(64)    NOT NULL,
    provider      varchar(20) NOT NULL,
    search_params jsonb       NOT NULL,
    results       jsonb       NOT NULL,
    result_count  integer     NOT NULL DEFAULT 0,
    hit_count     integer     NOT NULL DEFAULT 0,
    last_hit_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    CONSTRAINT uq_flight_search_cache_search_hash UNIQUE (search_hash),
    CONSTRAINT ck_flight_search_cache_hash CHECK (search_hash ~ '^[0-9a-f]{64}$'),
    CONSTRAINT ck_flight_search_cache_counts CHECK (result_count >= 0 AND hit_count >= 0)
);
CREATE INDEX ix_flight_search_cache_expires_at ON flight_search_cache (expires_at);

CREATE TABLE hotel_search_cache (
    id            uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    search_hash   char(64)    NOT NULL,
    provider      varchar(20) NOT NULL,
    search_params jsonb       NOT NULL,
    results       jsonb       NOT NULL,
    result_count  integer     NOT NULL DEFAULT 0,
    hit_count     integer     NOT NULL DEFAULT 0,
    last_hit_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    CONSTRAINT uq_hotel_search_cache_search_hash UNIQUE (search_hash),
    CONSTRAINT ck_hotel_search_cache_hash CHECK (search_hash ~ '^[0-9a-f]{64}$'),
    CONSTRAINT ck_hotel_search_cache_counts CHECK (result_count >= 0 AND hit_count >= 0)
);
CREATE INDEX ix_hotel_search_cache_expires_at ON hotel_search_cache (expires_at);

-- Booking -------------------------------------------------------------------------------------

CREATE TABLE bookings (
    id                  uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    tenant_id           uuid          NOT NULL REFERENCES tenants (id),
    -- Kept for accounting when the person is erased: the link goes, the booking stays.
    user_id             uuid          REFERENCES users (id) ON DELETE SET NULL,
    session_id          uuid          REFERENCES chat_sessions (id) ON DELETE SET NULL,
    booking_reference   char(6)       NOT NULL,
    status              varchar(20)   NOT NULL DEFAULT 'pending',
    total_amount        numeric(12,2) NOT NULL,
    currency            char(3)       NOT NULL,
    contact_name        varchar(200),
    contact_email       varchar(255),
    contact_phone       varchar(32),
    travellers          jsonb         NOT NULL DEFAULT '[]'::jsonb,
    idempotency_key     varchar(255),
    request_fingerprint char(64),
    provider            varchar(20)   NOT NULL DEFAULT 'offline',
    provider_order_id   varchar(255),
    failure_reason      varchar(500),
    refund_amount       numeric(12,2),
    confirmed_at        timestamptz,
    cancelled_at        timestamptz,
    attributes          jsonb         NOT NULL DEFAULT '{}'::jsonb,
    created_at          timestamptz   NOT NULL DEFAULT now(),
    updated_at          timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT ck_bookings_status CHECK (status IN ('pending', 'confirmed', 'cancelled', 'failed')),
    -- Six characters, no 0/O or 1/I: readable over the phone.
    CONSTRAINT ck_bookings_reference CHECK (booking_reference ~ '^[A-HJ-NP-Z2-9]{6}$'),
    CONSTRAINT ck_bookings_currency CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT ck_bookings_amounts CHECK (total_amount >= 0 AND coalesce(refund_amount, 0) >= 0),
    CONSTRAINT ck_bookings_confirmed_at CHECK (status <> 'confirmed' OR confirmed_at IS NOT NULL),
    CONSTRAINT ck_bookings_cancelled_at CHECK (status <> 'cancelled' OR cancelled_at IS NOT NULL),
    CONSTRAINT uq_bookings_booking_reference UNIQUE (booking_reference),
    CONSTRAINT uq_bookings_idempotency UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX ix_bookings_user_created ON bookings (user_id, created_at DESC);
CREATE INDEX ix_bookings_tenant_id ON bookings (tenant_id);

CREATE TABLE flight_bookings (
    id                uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    tenant_id         uuid          NOT NULL REFERENCES tenants (id),
    offer_id          varchar(255)  NOT NULL,
    provider          varchar(20)   NOT NULL,
    provider_order_id varchar(255),
    origin            char(3)       NOT NULL,
    destination       char(3)       NOT NULL,
    departure_at      timestamptz   NOT NULL,
    arrival_at        timestamptz   NOT NULL,
    carrier           varchar(100)  NOT NULL,
    flight_numbers    varchar(100)  NOT NULL,
    cabin             varchar(20)   NOT NULL,
    passengers        integer       NOT NULL,
    segments          jsonb         NOT NULL DEFAULT '[]'::jsonb,
    fare_conditions   jsonb         NOT NULL DEFAULT '{}'::jsonb,
    amount            numeric(12,2) NOT NULL,
    currency          char(3)       NOT NULL,
    created_at        timestamptz   NOT NULL DEFAULT now(),
    updated_at        timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT ck_flight_bookings_cabin
        CHECK (cabin IN ('economy', 'premium_economy', 'business', 'first')),
    CONSTRAINT ck_flight_bookings_airports
        CHECK (origin ~ '^[A-Z]{3}$' AND destination ~ '^[A-Z]{3}$' AND origin <> destination),
    CONSTRAINT ck_flight_bookings_times CHECK (arrival_at > departure_at),
    CONSTRAINT ck_flight_bookings_passengers CHECK (passengers BETWEEN 1 AND 9),
    CONSTRAINT ck_flight_bookings_money CHECK (amount >= 0 AND currency ~ '^[A-Z]{3}$')
);
CREATE INDEX ix_flight_bookings_tenant_id ON flight_bookings (tenant_id);

CREATE TABLE hotel_bookings (
    id                      uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    tenant_id               uuid          NOT NULL REFERENCES tenants (id),
    offer_id                varchar(255)  NOT NULL,
    provider                varchar(20)   NOT NULL,
    provider_order_id       varchar(255),
    hotel_id                varchar(100)  NOT NULL,
    hotel_name              varchar(255)  NOT NULL,
    city                    varchar(100)  NOT NULL,
    address                 varchar(500),
    check_in                date          NOT NULL,
    check_out               date          NOT NULL,
    rooms                   integer       NOT NULL DEFAULT 1,
    guests                  integer       NOT NULL DEFAULT 1,
    room_type               varchar(100),
    board                   varchar(30),
    free_cancellation_until timestamptz,
    amount                  numeric(12,2) NOT NULL,
    currency                char(3)       NOT NULL,
    created_at              timestamptz   NOT NULL DEFAULT now(),
    updated_at              timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT ck_hotel_bookings_dates CHECK (check_out > check_in),
    CONSTRAINT ck_hotel_bookings_occupancy
        CHECK (rooms BETWEEN 1 AND 9 AND guests BETWEEN 1 AND 9 AND guests >= rooms),
    CONSTRAINT ck_hotel_bookings_board
        CHECK (board IN ('room_only', 'breakfast', 'half_board', 'full_board', 'all_inclusive')),
    CONSTRAINT ck_hotel_bookings_money CHECK (amount >= 0 AND currency ~ '^[A-Z]{3}$')
);
CREATE INDEX ix_hotel_bookings_tenant_id ON hotel_bookings (tenant_id);

-- One row per booked thing: a discriminator plus one foreign key per kind, exactly one set.
CREATE TABLE booking_items (
    id                uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    tenant_id         uuid          NOT NULL REFERENCES tenants (id),
    booking_id        uuid          NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    item_type         varchar(20)   NOT NULL,
    flight_booking_id uuid          REFERENCES flight_bookings (id) ON DELETE RESTRICT,
    hotel_booking_id  uuid          REFERENCES hotel_bookings (id) ON DELETE RESTRICT,
    position          smallint      NOT NULL DEFAULT 0,
    amount            numeric(12,2) NOT NULL,
    currency          char(3)       NOT NULL,
    created_at        timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT ck_booking_items_item_type CHECK (item_type IN ('flight', 'hotel')),
    CONSTRAINT ck_booking_items_one_target CHECK (
        (item_type = 'flight' AND flight_booking_id IS NOT NULL AND hotel_booking_id IS NULL)
        OR (item_type = 'hotel' AND hotel_booking_id IS NOT NULL AND flight_booking_id IS NULL)),
    CONSTRAINT ck_booking_items_money CHECK (amount >= 0 AND currency ~ '^[A-Z]{3}$'),
    CONSTRAINT uq_booking_items_flight UNIQUE (flight_booking_id),
    CONSTRAINT uq_booking_items_hotel UNIQUE (hotel_booking_id)
);
CREATE INDEX ix_booking_items_booking_id ON booking_items (booking_id);

-- Analytics -----------------------------------------------------------------------------------

CREATE TABLE analytics_events (
    id         uuid        NOT NULL DEFAULT uuid_generate_v7(),
    created_at timestamptz NOT NULL DEFAULT now(),
    tenant_id  uuid        NOT NULL REFERENCES tenants (id),
    user_id    uuid        REFERENCES users (id) ON DELETE SET NULL,
    session_id uuid        REFERENCES chat_sessions (id) ON DELETE SET NULL,
    event_type varchar(50) NOT NULL,
    properties jsonb       NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT pk_analytics_events PRIMARY KEY (id, created_at),
    CONSTRAINT ck_analytics_events_event_type CHECK (event_type IN (
        'user_signed_up', 'user_logged_in', 'consent_changed',
        'session_started', 'message_sent', 'tool_called', 'turn_completed',
        'search_performed',
        'booking_created', 'booking_confirmed', 'booking_cancelled', 'booking_failed',
        'feedback_given', 'data_exported', 'user_forgotten'))
) PARTITION BY RANGE (created_at);
CREATE INDEX ix_analytics_events_type_created ON analytics_events (event_type, created_at);
CREATE INDEX ix_analytics_events_user_created ON analytics_events (user_id, created_at);
CREATE INDEX ix_analytics_events_created_brin ON analytics_events USING brin (created_at);
CREATE TABLE analytics_events_default PARTITION OF analytics_events DEFAULT;

-- Monthly partitions ---------------------------------------------------------------------------

-- Creates PARENT_yYYYYmMM for the month holding `month` unless it exists. Rows already sitting
-- in the DEFAULT partition for that month are moved into it, since PostgreSQL refuses to attach
-- a range that DEFAULT already holds rows for.
CREATE FUNCTION ensure_monthly_partition(parent regclass, month date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    lower_bound date := date_trunc('month', month)::date;
    upper_bound date := (date_trunc('month', month) + interval '1 month')::date;
    parent_name text := (SELECT c.relname FROM pg_class c WHERE c.oid = parent);
    partition_name text := format('%s_y%sm%s', parent_name,
                                  to_char(lower_bound, 'YYYY'), to_char(lower_bound, 'MM'));
    default_name text := parent_name || '_default';
    staging_name text := partition_name || '_staging';
    moved bigint;
BEGIN
    IF to_regclass(format('%I', partition_name)) IS NOT NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format('CREATE TEMP TABLE %I ON COMMIT DROP AS
                        WITH moved AS (DELETE FROM %I WHERE created_at >= %L AND created_at < %L
                                       RETURNING *)
                        SELECT * FROM moved',
                   staging_name, default_name, lower_bound, upper_bound);
    GET DIAGNOSTICS moved = ROW_COUNT;
    EXECUTE format('CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                   partition_name, parent, lower_bound, upper_bound);
    IF moved > 0 THEN
        -- Straight into the partition: through the parent, the statement trigger that keeps
        -- chat_sessions.message_count would count these rows a second time.
        EXECUTE format('INSERT INTO %I SELECT * FROM %I', partition_name, staging_name);
    END IF;
    EXECUTE format('DROP TABLE %I', staging_name);
    RETURN partition_name;
END
$$;

SELECT ensure_monthly_partition(parent, (date_trunc('month', now()) + make_interval(months => ahead))::date)
FROM unnest(ARRAY['chat_messages'::regclass, 'analytics_events'::regclass]) AS parent,
     generate_series(0, 3) AS ahead;

-- Triggers -------------------------------------------------------------------------------------

CREATE TRIGGER trg_tenants_updated_at BEFORE UPDATE ON tenants
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_oauth_accounts_updated_at BEFORE UPDATE ON oauth_accounts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_chat_sessions_updated_at BEFORE UPDATE ON chat_sessions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_bookings_updated_at BEFORE UPDATE ON bookings
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_flight_bookings_updated_at BEFORE UPDATE ON flight_bookings
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_hotel_bookings_updated_at BEFORE UPDATE ON hotel_bookings
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- chat_sessions.message_count follows chat_messages: one UPDATE per session per statement
-- (transition tables), so a batched insert of a whole turn costs one update, not one per row.
CREATE FUNCTION chat_messages_count_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE chat_sessions s
       SET message_count = s.message_count + n.added,
           last_message_at = greatest(s.last_message_at, n.newest)
      FROM (SELECT session_id, count(*) AS added, max(created_at) AS newest
              FROM inserted_rows GROUP BY session_id) n
     WHERE s.id = n.session_id;
    RETURN NULL;
END
$$;

CREATE FUNCTION chat_messages_count_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE chat_sessions s
       SET message_count = greatest(s.message_count - n.removed, 0)
      FROM (SELECT session_id, count(*) AS removed FROM deleted_rows GROUP BY session_id) n
     WHERE s.id = n.session_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER trg_chat_messages_count_insert AFTER INSERT ON chat_messages
    REFERENCING NEW TABLE AS inserted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION chat_messages_count_inserted();
CREATE TRIGGER trg_chat_messages_count_delete AFTER DELETE ON chat_messages
    REFERENCING OLD TABLE AS deleted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION chat_messages_count_deleted();

-- Analytics view (section 4.4) ----------------------------------------------------------------

CREATE MATERIALIZED VIEW mv_daily_metrics AS
SELECT
    DATE(created_at) as date,
    COUNT(*) as bookings,
    SUM(total_amount) as revenue
FROM bookings
WHERE status = 'confirmed'
GROUP BY DATE(created_at);

-- REFRESH ... CONCURRENTLY needs a unique index over all rows.
CREATE UNIQUE INDEX ux_mv_daily_metrics_date ON mv_daily_metrics (date);

-- Row-level security ---------------------------------------------------------------------------
-- Every tenant-scoped table is FORCE'd, so even the owner obeys the policy unless it is a
-- superuser or BYPASSRLS. The runtime role gets the parents only: a partition queried directly
-- would skip the parent's policy, so it is not granted.

DO $$
DECLARE
    scoped text;
BEGIN
    FOREACH scoped IN ARRAY ARRAY['users', 'oauth_accounts', 'chat_sessions', 'chat_messages',
                                  'bookings', 'booking_items', 'flight_bookings',
                                  'hotel_bookings', 'analytics_events']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', scoped);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', scoped);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I
                            USING (tenant_id = (SELECT current_tenant_id()))
                            WITH CHECK (tenant_id = (SELECT current_tenant_id()))', scoped);
    END LOOP;
END
$$;

-- A tenant may read its own row and nothing else of `tenants`.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_self ON tenants FOR SELECT USING (id = (SELECT current_tenant_id()));
