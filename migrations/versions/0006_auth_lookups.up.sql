-- Lookups the app needs before it knows a tenant (logging in, checking who owns a thread).
-- SECURITY DEFINER lets them see past row-level security, so each returns only the narrow
-- answer its caller needs, and only the runtime role may call them.

CREATE FUNCTION auth_user_by_email(address text)
RETURNS TABLE (id uuid, tenant_id uuid, email varchar, full_name varchar, phone varchar,
               hashed_password varchar, role varchar, status varchar)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT u.id, u.tenant_id, u.email, u.full_name, u.phone, u.hashed_password, u.role, u.status
    FROM public.users u
    WHERE u.email = lower(address) AND u.deleted_at IS NULL
$$;

CREATE FUNCTION tenant_of_user(user_id uuid) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT u.tenant_id FROM public.users u WHERE u.id = user_id AND u.deleted_at IS NULL
$$;

CREATE FUNCTION thread_author(thread uuid) RETURNS varchar
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT u.email FROM public.chat_sessions s JOIN public.users u ON u.id = s.user_id
    WHERE s.thread_id = thread AND s.deleted_at IS NULL
$$;

-- The user an OAuth identity is linked to (soft-deleted users included: they must be refused,
-- not offered a fresh account).
CREATE FUNCTION oauth_owner(provider_name text, account_id text)
RETURNS TABLE (user_id uuid, tenant_id uuid, deleted boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT u.id, u.tenant_id, u.deleted_at IS NOT NULL
    FROM public.oauth_accounts a JOIN public.users u ON u.id = a.user_id
    WHERE a.provider = provider_name AND a.provider_account_id = account_id
$$;

-- The thread a message shown in the chat belongs to, by the id the interface gave it (the
-- interface sends feedback with that id alone). Those ids are random UUIDs: unguessable.
CREATE INDEX ix_chat_messages_ui_ids ON chat_messages USING gin ((attributes->'ui_ids'))
    WHERE attributes ? 'ui_ids';

CREATE FUNCTION thread_of_ui_message(ui_id text) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT s.thread_id FROM public.chat_messages m
    JOIN public.chat_sessions s ON s.id = m.session_id
    WHERE m.attributes ? 'ui_ids' AND m.attributes->'ui_ids' ? ui_id
    LIMIT 1
$$;

REVOKE EXECUTE ON FUNCTION auth_user_by_email(text), tenant_of_user(uuid), thread_author(uuid),
    oauth_owner(text, text), thread_of_ui_message(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_user_by_email(text), tenant_of_user(uuid), thread_author(uuid),
    oauth_owner(text, text), thread_of_ui_message(text) TO travelhub_app;
