-- The chat log's write (db/chat_log.py) takes every tenant's rows of a group commit in one
-- statement. Migration 0009's function took one tenant's; a batch holding two tenants then
-- needed a transaction block of two calls, and the server sat idle in that transaction while
-- the client prepared the second call (a third of the server's time in bench/ingest).
--
-- SECURITY INVOKER, as before: it runs as the caller under row-level security. Each row comes
-- with the tenant its writer claimed (`m_claim`, `e_claim`); the function sets each claimed
-- tenant in turn (local to the caller's transaction) and writes the rows claimed for it, so a
-- row whose own tenant_id is another's is refused, as before. Tenants in one order everywhere: fewer lock
-- waits between concurrent batches. `p_durable`: a reply waits on these rows, so the commit
-- waits for the disk (making the turn's checkpoint, written just before without waiting,
-- durable too); analytics alone do not wait.
DROP FUNCTION chat_log_write(uuid, boolean, uuid[], uuid[], uuid[], text[], text[], jsonb[],
    text[], text[], text[], integer[], integer[], integer[], jsonb[], uuid[], uuid[], uuid[],
    uuid[], text[], jsonb[]);

CREATE FUNCTION chat_log_write(
    p_durable boolean,
    m_claim uuid[], m_id uuid[], m_tenant uuid[], m_session uuid[], m_role text[], m_content text[],
    m_tool_calls jsonb[], m_tool_call_id text[], m_tool_name text[], m_model_name text[],
    m_prompt_tokens integer[], m_completion_tokens integer[], m_latency_ms integer[],
    m_attributes jsonb[],
    e_claim uuid[], e_id uuid[], e_tenant uuid[], e_user uuid[], e_session uuid[],
    e_type text[], e_properties jsonb[]
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
END
$$;

REVOKE EXECUTE ON FUNCTION chat_log_write(boolean, uuid[], uuid[], uuid[], uuid[], text[],
    text[], jsonb[], text[], text[], text[], integer[], integer[], integer[], jsonb[], uuid[],
    uuid[], uuid[], uuid[], uuid[], text[], jsonb[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION chat_log_write(boolean, uuid[], uuid[], uuid[], uuid[], text[],
    text[], jsonb[], text[], text[], text[], integer[], integer[], integer[], jsonb[], uuid[],
    uuid[], uuid[], uuid[], uuid[], text[], jsonb[]) TO travelhub_app;
