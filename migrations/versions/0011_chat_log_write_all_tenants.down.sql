DROP FUNCTION IF EXISTS chat_log_write(boolean, uuid[], uuid[], uuid[], uuid[], text[],
    text[], jsonb[], text[], text[], text[], integer[], integer[], integer[], jsonb[], uuid[],
    uuid[], uuid[], uuid[], uuid[], text[], jsonb[]);

CREATE FUNCTION chat_log_write(
    p_tenant uuid, p_durable boolean,
    m_id uuid[], m_tenant uuid[], m_session uuid[], m_role text[], m_content text[],
    m_tool_calls jsonb[], m_tool_call_id text[], m_tool_name text[], m_model_name text[],
    m_prompt_tokens integer[], m_completion_tokens integer[], m_latency_ms integer[],
    m_attributes jsonb[],
    e_id uuid[], e_tenant uuid[], e_user uuid[], e_session uuid[], e_type text[],
    e_properties jsonb[]
) RETURNS void
LANGUAGE plpgsql SECURITY INVOKER AS $$
BEGIN
    PERFORM set_config('app.current_tenant_id', p_tenant::text, true);
    PERFORM set_config('synchronous_commit', CASE WHEN p_durable THEN 'on' ELSE 'off' END, true);
    IF cardinality(m_id) > 0 THEN
        INSERT INTO chat_messages (id, tenant_id, session_id, role, content, tool_calls,
            tool_call_id, tool_name, model_name, prompt_tokens, completion_tokens, latency_ms,
            attributes)
        SELECT * FROM unnest(m_id, m_tenant, m_session, m_role, m_content, m_tool_calls,
            m_tool_call_id, m_tool_name, m_model_name, m_prompt_tokens, m_completion_tokens,
            m_latency_ms, m_attributes);
    END IF;
    IF cardinality(e_id) > 0 THEN
        INSERT INTO analytics_events (id, tenant_id, user_id, session_id, event_type, properties)
        SELECT * FROM unnest(e_id, e_tenant, e_user, e_session, e_type, e_properties);
    END IF;
END
$$;

REVOKE EXECUTE ON FUNCTION chat_log_write(uuid, boolean, uuid[], uuid[], uuid[], text[], text[],
    jsonb[], text[], text[], text[], integer[], integer[], integer[], jsonb[], uuid[], uuid[],
    uuid[], uuid[], text[], jsonb[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION chat_log_write(uuid, boolean, uuid[], uuid[], uuid[], text[], text[],
    jsonb[], text[], text[], text[], integer[], integer[], integer[], jsonb[], uuid[], uuid[],
    uuid[], uuid[], text[], jsonb[]) TO travelhub_app;
