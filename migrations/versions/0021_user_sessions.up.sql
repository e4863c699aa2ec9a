-- One row per sign-in; its id travels in the session token. A token is honoured only while
-- its row is neither revoked nor expired, so signing out ends it for good.
CREATE TABLE user_sessions (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    user_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    CONSTRAINT fk_user_sessions_user FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

-- "Every live session of this user", for ending them at a password change.
CREATE INDEX ix_user_sessions_user_live ON user_sessions (user_id) WHERE revoked_at IS NULL;
-- The maintenance purge of sessions long over.
CREATE INDEX ix_user_sessions_expires_at ON user_sessions (expires_at);

ALTER TABLE user_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON user_sessions
    USING (tenant_id = (SELECT current_tenant_id()))
    WITH CHECK (tenant_id = (SELECT current_tenant_id()));

GRANT SELECT, INSERT, UPDATE, DELETE ON user_sessions TO travelhub_app;
