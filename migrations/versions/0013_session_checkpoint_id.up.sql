-- open_chat_session (0008) also answers with the thread's latest checkpoint id, which it
-- already looked up to tell whether the agent awaits an answer. A process that wrote that
-- checkpoint itself still holds it in memory (agent/checkpointer.py): with the id confirmed by
-- the database, the turn starts from memory instead of loading and decoding it again.
--
-- Its own commit does not wait for the disk: the session row matters only with the turn's
-- messages, whose commit waits (and WAL is flushed in order, so this row is durable then).
DROP FUNCTION open_chat_session(uuid, uuid, uuid, uuid, text, jsonb);

CREATE FUNCTION open_chat_session(
    p_id uuid, p_tenant uuid, p_user uuid, p_thread uuid, p_title text, p_context jsonb
) RETURNS TABLE (
    id uuid, user_id uuid, context jsonb, message_count integer, deleted_at timestamptz,
    awaiting_answer boolean, checkpoint_id text
)
LANGUAGE plpgsql SECURITY INVOKER AS $$
#variable_conflict use_column
BEGIN
    PERFORM set_config('app.current_tenant_id', p_tenant::text, true);
    PERFORM set_config('synchronous_commit', 'off', true);
    INSERT INTO chat_sessions (id, tenant_id, user_id, thread_id, title, context)
    VALUES (p_id, p_tenant, p_user, p_thread, p_title, p_context)
    ON CONFLICT (thread_id) DO NOTHING;
    IF p_title IS NOT NULL THEN
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

REVOKE EXECUTE ON FUNCTION open_chat_session(uuid, uuid, uuid, uuid, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION open_chat_session(uuid, uuid, uuid, uuid, text, jsonb) TO travelhub_app;
