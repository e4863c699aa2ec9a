ALTER TABLE analytics_events
    DROP CONSTRAINT fk_analytics_events_session,
    DROP CONSTRAINT fk_analytics_events_user,
    ADD CONSTRAINT analytics_events_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    ADD CONSTRAINT analytics_events_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE SET NULL,
    ADD CONSTRAINT analytics_events_session_id_fkey FOREIGN KEY (session_id)
        REFERENCES chat_sessions (id) ON DELETE SET NULL;

ALTER TABLE chat_messages
    DROP CONSTRAINT fk_chat_messages_session,
    ADD CONSTRAINT chat_messages_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    ADD CONSTRAINT chat_messages_session_id_fkey FOREIGN KEY (session_id)
        REFERENCES chat_sessions (id) ON DELETE CASCADE;

CREATE INDEX ix_users_tenant_id ON users (tenant_id);
ALTER TABLE users DROP CONSTRAINT uq_users_tenant_id_id;
CREATE INDEX ix_chat_sessions_tenant_id ON chat_sessions (tenant_id);
ALTER TABLE chat_sessions DROP CONSTRAINT uq_chat_sessions_tenant_id_id;
