-- Editing a message travels back in time: the conversation carries on from before it, and the
-- messages from it on leave the current branch. They stay in the log (replay shows them),
-- marked with the moment they were superseded.
ALTER TABLE chat_messages ADD COLUMN superseded_at timestamptz;

-- The edited message's replacement names it (attributes.supersedes, its id): committing the
-- replacement supersedes, in the same transaction, the edited message and everything said
-- after it on the current branch, but nothing of the statement that writes the replacement
-- (its rows carry this transaction's time, later than any committed before it).
CREATE FUNCTION chat_messages_supersede() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE chat_messages m SET superseded_at = NEW.created_at
      FROM chat_messages edited
     WHERE edited.session_id = NEW.session_id
       AND edited.id = (NEW.attributes->>'supersedes')::uuid
       AND m.session_id = NEW.session_id
       AND m.superseded_at IS NULL
       AND (m.created_at, m.id) >= (edited.created_at, edited.id)
       AND m.created_at < NEW.created_at;
    RETURN NULL;
END
$$;

-- Row by row, but only for a replacement: every other insert skips it at the WHEN.
CREATE TRIGGER trg_chat_messages_supersede AFTER INSERT ON chat_messages
    FOR EACH ROW WHEN (NEW.attributes ? 'supersedes')
    EXECUTE FUNCTION chat_messages_supersede();
