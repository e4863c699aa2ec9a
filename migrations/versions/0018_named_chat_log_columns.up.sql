-- The chat log names each of chat_log_write's parameters (db/chat_log.py): the columns of the
-- tables written beside a turn's messages (LangGraph's checkpoints, agent/conversation/) default
-- to none, so the chat log knows only its own tables.
CREATE OR REPLACE FUNCTION chat_log_write(
    p_durable boolean,
    m_claim uuid[], m_id uuid[], m_tenant uuid[], m_session uuid[], m_role text[], m_content text[],
    m_tool_calls jsonb[], m_tool_call_id text[], m_tool_name text[], m_model_name text[],
    m_prompt_tokens integer[], m_completion_tokens integer[], m_latency_ms integer[],
    m_attributes jsonb[],
    e_claim uuid[], e_id uuid[], e_tenant uuid[], e_user uuid[], e_session uuid[],
    e_type text[], e_properties jsonb[],
    c_thread text[] DEFAULT '{}', c_ns text[] DEFAULT '{}', c_id text[] DEFAULT '{}',
    c_parent text[] DEFAULT '{}', c_checkpoint jsonb[] DEFAULT '{}',
    c_metadata jsonb[] DEFAULT '{}',
    b_thread text[] DEFAULT '{}', b_ns text[] DEFAULT '{}', b_channel text[] DEFAULT '{}',
    b_version text[] DEFAULT '{}', b_type text[] DEFAULT '{}', b_blob bytea[] DEFAULT '{}'
) RETURNS void
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    tenant uuid;
BEGIN
    PERFORM set_config('synchronous_commit', CASE WHEN p_durable THEN 'on' ELSE 'off' END, true);
    FOR tenant IN SELECT DISTINCT t FROM unnest(m_claim || e_claim) AS t ORDER BY t LOOP
        PERFORM set_config('app.current_tenant_id', tenant::text, true);
        INSERT INTO chat_messages (id, tenant_id, session_id, role, content, tool_calls,
            tool_call_id, tool_name, model_name, prompt_tokens, completion_tokens, latency_ms,
            attributes)
        SELECT r.id, r.tenant_id, r.session_id, r.role, r.content, r.tool_calls,
            r.tool_call_id, r.tool_name, r.model_name, r.prompt_tokens, r.completion_tokens,
            r.latency_ms, r.attributes
        FROM unnest(m_claim, m_id, m_tenant, m_session, m_role, m_content, m_tool_calls,
            m_tool_call_id, m_tool_name, m_model_name, m_prompt_tokens, m_completion_tokens,
            m_latency_ms, m_attributes) AS r (claim, id, tenant_id, session_id, role, content,
            tool_calls, tool_call_id, tool_name, model_name, prompt_tokens, completion_tokens,
            latency_ms, attributes)
        WHERE r.claim = tenant;
        INSERT INTO analytics_events (id, tenant_id, user_id, session_id, event_type, properties)
        SELECT r.id, r.tenant_id, r.user_id, r.session_id, r.event_type, r.properties
        FROM unnest(e_claim, e_id, e_tenant, e_user, e_session, e_type, e_properties)
            AS r (claim, id, tenant_id, user_id, session_id, event_type, properties)
        WHERE r.claim = tenant;
    END LOOP;
    -- LangGraph's tables (no tenant of their own), with LangGraph's own conflict handling.
    IF cardinality(b_thread) > 0 THEN
        INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
        SELECT * FROM unnest(b_thread, b_ns, b_channel, b_version, b_type, b_blob)
        ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO NOTHING;
    END IF;
    IF cardinality(c_thread) > 0 THEN
        INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id,
            checkpoint, metadata)
        SELECT * FROM unnest(c_thread, c_ns, c_id, c_parent, c_checkpoint, c_metadata)
        ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id)
        DO UPDATE SET checkpoint = EXCLUDED.checkpoint, metadata = EXCLUDED.metadata;
    END IF;
END
$$;
