DROP TRIGGER IF EXISTS trg_chat_messages_supersede ON chat_messages;
DROP FUNCTION IF EXISTS chat_messages_supersede();
ALTER TABLE chat_messages DROP COLUMN IF EXISTS superseded_at;
