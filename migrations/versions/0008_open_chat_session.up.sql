-- Every turn opens its chat session: creates it on the first turn, titles a session the
-- interface opened before anything was said, and reads it back with whether the agent is
-- waiting for an answer (its latest checkpoint holds an '__interrupt__' write). One statement,
-- so one round trip and one cheap call from the application.
--
-- SECURITY INVOKER: it runs as the caller (the runtime role) under row-level security; the
-- tenant it sets is local to the caller's transaction, as the application always sets it.
CREATE FUNCTION open_chat_session(
    p_id uuid, p_tenant uuid, p_user uuid, p_thread uuid, p_title text, p_context jsonb
) RETURNS TABLE (
    id uuid, user_id uuid, context jsonb, message_count integer, deleted_at timestamptz,
    awaiting_answer boolean
)
LANGUAGE plpgsql SECURITY INVOKER AS $$
#variable_conflict use_column
BEGIN
    PERFORM set_config('app.current_tenant_id', p_tenant::text, true);
    INSERT INTO chat_sessions (id, tenant_id, user_id, thread_id, title, context)
    VALUES (p_id, p_tenant, p_user, p_thread, p_title, p_context)
    ON CONFLICT (thread_id) DO NOTHING;
    IF p_title IS NOT NULL THEN
        UPDATE chat_sessions s SET title = p_title
        WHERE s.thread_id = p_thread AND s.user_id = p_user AND s.title IS NULL;
    END IF;
    RETURN QUERY
    SELECT s.id, s.user_id, s.context, s.message_count, s.deleted_at, EXISTS (
        SELECT 1 FROM checkpoint_writes w
        WHERE w.thread_id = p_thread::text AND w.checkpoint_ns = ''
          AND w.channel = '__interrupt__'
          AND w.checkpoint_id = (
              SELECT max(c.checkpoint_id) FROM checkpoints c
              WHERE c.thread_id = p_thread::text AND c.checkpoint_ns = ''
          )
    )
    FROM chat_sessions s WHERE s.thread_id = p_thread;
END
$$;

REVOKE EXECUTE ON FUNCTION open_chat_session(uuid, uuid, uuid, uuid, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION open_chat_session(uuid, uuid, uuid, uuid, text, jsonb) TO travelhub_app;
