-- 0001's definitions.
CREATE OR REPLACE FUNCTION chat_messages_count_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE chat_sessions s
       SET message_count = s.message_count + n.added,
           last_message_at = greatest(s.last_message_at, n.newest)
      FROM (SELECT session_id, count(*) AS added, max(created_at) AS newest
              FROM inserted_rows GROUP BY session_id) n
     WHERE s.id = n.session_id;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION chat_messages_count_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE chat_sessions s
       SET message_count = greatest(s.message_count - n.removed, 0)
      FROM (SELECT session_id, count(*) AS removed FROM deleted_rows GROUP BY session_id) n
     WHERE s.id = n.session_id;
    RETURN NULL;
END
$$;
