DROP INDEX IF EXISTS ix_chat_messages_ui_ids;
DROP FUNCTION IF EXISTS auth_user_by_email(text), tenant_of_user(uuid), thread_author(uuid),
    oauth_owner(text, text), thread_of_ui_message(text);
