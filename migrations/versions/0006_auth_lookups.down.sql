DROP FUNCTION IF EXISTS auth_user_by_email(text), tenant_of_user(uuid), thread_author(uuid),
    oauth_owner(text, text);
