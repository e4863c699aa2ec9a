DROP FUNCTION IF EXISTS open_chat_session(uuid, uuid, uuid, uuid, text, jsonb);
