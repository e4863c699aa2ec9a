-- open_chat_session (0013) began every turn by trying to create the session (INSERT ... ON
-- CONFLICT DO NOTHING) and to title it (an UPDATE finding nothing to do): on every turn after
-- the first, two statements that change nothing. It now looks the session up first and
-- writes only what is missing: a new thread's session, or the title of one opened before
-- anything was said. Same answers, same row-level security (another tenant's thread is
-- invisible, so it is "missing", and the insert still gives way to it).
CREATE OR REPLACE FUNCTION open_chat_session(
    p_id uuid, p_tenant uuid, p_user uuid, p_thread uuid, p_title text, p_context jsonb
) RETURNS TABLE (
    id uuid, user_id uuid, context jsonb, message_count integer, deleted_at timestamptz,
    awaiting_answer boolean, checkpoint_id text
)
LANGUAGE plpgsql SECURITY INVOKER AS $$
#variable_conflict use_column
DECLARE
    known boolean;
    titled boolean;
BEGIN
    PERFORM set_config('app.current_tenant_id', p_tenant::text, true);
    PERFORM set_config('synchronous_commit', 'off', true);
    SELECT true, s.title IS NOT NULL INTO known, titled
    FROM chat_sessions s WHERE s.thread_id = p_thread;
    -- Not found: ours to create, unless someone (the interface) creates it at this moment.
    IF known IS NULL THEN
        INSERT INTO chat_sessions (id, tenant_id, user_id, thread_id, title, context)
        VALUES (p_id, p_tenant, p_user, p_thread, p_title, p_context)
        ON CONFLICT (thread_id) DO NOTHING;
    END IF;
    -- Untitled, or just made by someone else: the first words give it its title.
    IF p_title IS NOT NULL AND NOT coalesce(titled, false) THEN
        UPDATE chat_sessions s SET title = p_title
        WHERE s.thread_id = p_thread AND s.user_id = p_user AND s.title IS NULL;
    END IF;
    RETURN QUERY
    SELECT s.id, s.user_id, s.context, s.message_count, s.deleted_at,
        latest.id IS NOT NULL AND EXISTS (
            SELECT 1 FROM checkpoint_writes w
            WHERE w.thread_id = p_thread::text AND w.checkpoint_ns = ''
              AND w.channel = '__interrupt__' AND w.checkpoint_id = latest.id
        ),
        latest.id
    FROM chat_sessions s
    CROSS JOIN (
        SELECT max(c.checkpoint_id) AS id FROM checkpoints c
        WHERE c.thread_id = p_thread::text AND c.checkpoint_ns = ''
    ) latest
    WHERE s.thread_id = p_thread;
END
$$;
