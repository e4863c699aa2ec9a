-- Chat messages and analytics events reference their session and user together with their
-- tenant: one composite foreign key where there were two or three single ones.
--
-- Why: every inserted log row ran a foreign key check on `tenants`, each one taking a key-share
-- lock on the same tenant row. Concurrent turns of a tenant all lock that one row, so
-- PostgreSQL keeps multixacts for it; those checks were about a fifth of the chat log's write
-- cost (bench/ingest, bench/datalayer). A composite key also says more: a message's session,
-- and an event's user and session, belong to the row's own tenant (a single-column key checked
-- only that they exist, in any tenant).
--
-- An event with neither user nor session (the GDPR erasure's `user_forgotten`) has its tenant
-- checked by row-level security alone, as every row's tenant already is.

ALTER TABLE chat_sessions ADD CONSTRAINT uq_chat_sessions_tenant_id_id UNIQUE (tenant_id, id);
-- Its index leads with tenant_id: the tenant's own index is redundant.
DROP INDEX ix_chat_sessions_tenant_id;
ALTER TABLE users ADD CONSTRAINT uq_users_tenant_id_id UNIQUE (tenant_id, id);
DROP INDEX ix_users_tenant_id;

ALTER TABLE chat_messages
    DROP CONSTRAINT chat_messages_tenant_id_fkey,
    DROP CONSTRAINT chat_messages_session_id_fkey,
    ADD CONSTRAINT fk_chat_messages_session FOREIGN KEY (tenant_id, session_id)
        REFERENCES chat_sessions (tenant_id, id) ON DELETE CASCADE;

ALTER TABLE analytics_events
    DROP CONSTRAINT analytics_events_tenant_id_fkey,
    DROP CONSTRAINT analytics_events_user_id_fkey,
    DROP CONSTRAINT analytics_events_session_id_fkey,
    ADD CONSTRAINT fk_analytics_events_user FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE SET NULL (user_id),
    ADD CONSTRAINT fk_analytics_events_session FOREIGN KEY (tenant_id, session_id)
        REFERENCES chat_sessions (tenant_id, id) ON DELETE SET NULL (session_id);
